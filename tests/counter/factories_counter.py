"""Factories for the counter tests (services, counters, tickets and a minimal resident)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from counter.models import Counter, Service, Ticket
from residents.models import Address, Household, Resident


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 26])
    name_ja = factory.LazyAttribute(lambda o: f"業務{o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Service {o.code}")
    default_service_minutes = 10


class CounterFactory(factory.django.DjangoModelFactory):
    """A desk open all day, every day, so tests do not depend on the clock or the calendar."""

    class Meta:
        model = Counter
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"{o.number}番窓口")
    opens_at = dt.time(0, 0)
    closes_at = dt.time(23, 59, 59)
    open_on_closed_days = True

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    service = factory.SubFactory(ServiceFactory)
    business_date = factory.LazyFunction(timezone.localdate)
    number = factory.Sequence(lambda n: n + 1)
    issued_at = factory.LazyFunction(timezone.now)
    queued_at = factory.LazyAttribute(lambda o: o.issued_at)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    town = "本町"
    chome = 1
    banchi = factory.Sequence(lambda n: str(n + 1))
    normalized = factory.Sequence(lambda n: f"本町1丁目{n + 1}番地")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    number = factory.Sequence(lambda n: f"H{n:09d}")
    address = factory.SubFactory(AddressFactory)
    address_since = dt.date(2020, 4, 1)
    formed_on = dt.date(2020, 4, 1)


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    resident_code = factory.Sequence(lambda n: f"{n + 10000000000:011d}")
    family_name = "山田"
    given_name = "花子"
    family_name_kana = "ヤマダ"
    given_name_kana = "ハナコ"
    birth_date = dt.date(1985, 5, 20)
    sex = Resident.Sex.FEMALE
    household = factory.SubFactory(HouseholdFactory)
    relationship = "世帯主"
    is_head = True
    became_resident_on = dt.date(2020, 4, 1)
    search_name = factory.LazyAttribute(lambda o: f"{o.family_name} {o.given_name}")
    search_kana = factory.LazyAttribute(lambda o: f"{o.family_name_kana} {o.given_name_kana}")
