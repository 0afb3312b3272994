"""Segments: the SQL count equals a Python filter over the same demo data; only people with a
live residence on the date; consent withdrawal takes a resident out of tax-based segments at once."""

from __future__ import annotations

import io
import math
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from notices_helpers import resident_with_account, staff

from gis.models import GarbageDistrict
from notices import segments, services
from payments.models import Installment
from residents.models import ResidencePeriod, Resident

pytestmark = pytest.mark.django_db

EARTH_RADIUS_SPHERE = 6370986.0  # PostGIS ST_DistanceSphere's sphere


@pytest.fixture
def demo_city(db):
    from cityhall.seed import demo_accounts
    from cityhall.seeding import SeedContext
    from gis.seed import seed_gis
    from payments.seed import demo_bills
    from residents.seed import demo_residents

    ctx = SeedContext(residents=400, parcels=800, stdout=io.StringIO())
    for step in (demo_accounts, demo_residents, seed_gis, demo_bills):
        step(ctx)
    # The city is seeded inside the test's transaction, where autovacuum never sees it: without
    # statistics the planner takes these tables for empty and nests loops over them, and the
    # household-and-children segment then runs for hours instead of milliseconds.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ctx


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _live(period: ResidencePeriod, on: date) -> bool:
    lower, upper = period.valid.lower, period.valid.upper
    return (lower is None or lower <= on) and (upper is None or on < upper)


def _python_selection(spec: dict, on: date) -> set[int]:
    """The same criteria, in Python, over every period of the register."""
    from gis.models import Feature, Layer

    periods = [
        p for p in ResidencePeriod.objects.select_related("resident", "address") if _live(p, on)
    ]
    by_household: dict[int, list[ResidencePeriod]] = {}
    for period in periods:
        by_household.setdefault(period.household_id, []).append(period)
    areas = [
        f.geometry
        for f in Feature.objects.filter(
            layer__kind=Layer.Kind.DISTRICTS_GARBAGE,
            valid_to__isnull=True,
            external_id__in=spec.get("garbage_districts", []),
        )
    ]
    open_due = {}
    if "installment_due_days" in spec:
        end = on + timedelta(days=spec["installment_due_days"])
        for item in Installment.objects.select_related("charge__revenue"):
            if (
                on <= item.due_on <= end
                and item.allocated < item.amount
                and item.charge.revenue.kind != "late_charge"
            ):
                open_due.setdefault(item.charge.payer_id, []).append(item)
    consenting = set(segments.live_consent().values_list("resident_id", flat=True))
    chosen = set()
    for period in periods:
        resident, address = period.resident, period.address
        age = _age(resident.birth_date, on)
        if "age_min" in spec and age < spec["age_min"]:
            continue
        if "age_max" in spec and age > spec["age_max"]:
            continue
        if spec.get("sex") and resident.sex != spec["sex"]:
            continue
        if spec.get("towns") and f"{address.town}:{address.chome or ''}" not in spec["towns"]:
            continue
        if "child_under" in spec and not any(
            _age(p.resident.birth_date, on) < spec["child_under"]
            for p in by_household[period.household_id]
        ):
            continue
        if spec.get("garbage_districts") and not (
            address.location is not None and any(a.intersects(address.location) for a in areas)
        ):
            continue
        if "near" in spec:
            if address.location is None:
                continue
            lon1, lat1 = map(math.radians, (address.location.x, address.location.y))
            lon2, lat2 = map(math.radians, (spec["near"]["lon"], spec["near"]["lat"]))
            h = (
                math.sin((lat2 - lat1) / 2) ** 2
                + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
            )
            if 2 * EARTH_RADIUS_SPHERE * math.asin(math.sqrt(h)) > spec["near"]["metres"]:
                continue
        if "installment_due_days" in spec and (
            resident.pk not in open_due or resident.pk not in consenting
        ):
            continue
        chosen.add(resident.pk)
    return chosen


def _sql_selection(spec: dict, on: date) -> set[int]:
    return set(segments.periods(segments.parse(spec), on).values_list("resident_id", flat=True))


def test_sql_counts_equal_a_python_filter_over_the_demo_city(demo_city):
    on = timezone.localdate()
    # Someone who moved away is in the register but not live today.
    from residents import services as resident_services

    leaver = Resident.objects.filter(status="current", is_head=False).order_by("id").first()
    resident_services.register_move_out(
        resident=leaver,
        effective_on=on - timedelta(days=3),
        notified_on=on - timedelta(days=3),
        clerk=staff("clerk"),
        destination="東京都千代田区",
    )
    a_point = Resident.objects.filter(household__address__location__isnull=False).first()
    location = a_point.household.address.location
    town = a_point.household.address
    # Consent for a third of the payers, so the tax criterion has something to tell apart.
    for resident in Resident.objects.filter(charges__isnull=False).distinct().order_by("id")[::3]:
        if resident.user_id is None:
            from factories import UserFactory

            user = UserFactory(role="resident")
            Resident.objects.filter(pk=resident.pk).update(user=user)
            resident.user = user
        services.grant_consent(user=resident.user, resident=resident)
    district_codes = list(GarbageDistrict.objects.values_list("code", flat=True)[:2])
    specs = [
        {"age_min": 20, "age_max": 39},
        {"age_min": 65},
        {"sex": "female", "age_max": 17},
        {"towns": [f"{town.town}:{town.chome or ''}"]},
        {"child_under": 6},
        {"garbage_districts": district_codes},
        {"near": {"lon": location.x, "lat": location.y, "metres": 400}},
        {"installment_due_days": 90},
        {"child_under": 6, "garbage_districts": district_codes[:1], "sex": "male"},
    ]
    checked = 0
    for spec in specs:
        sql = _sql_selection(spec, on)
        python = _python_selection(spec, on)
        assert sql == python, f"{spec}: SQL {len(sql)} vs Python {len(python)}"
        assert segments.count(segments.parse(spec), on)["residents"] == len(python)
        checked += bool(python)
    # The criteria are not vacuous on this data: most of them select somebody.
    assert checked >= 7
    assert leaver.pk not in _sql_selection({"age_min": 0}, on)


def test_people_without_a_live_residence_on_the_date_are_never_included():
    on = timezone.localdate()
    stays, _user = resident_with_account(address="緑町2丁目3番4号")
    leaves, _user2 = resident_with_account(address="緑町2丁目3番5号")
    from residents import services as resident_services

    resident_services.register_move_out(
        resident=leaves,
        effective_on=on - timedelta(days=1),
        notified_on=on - timedelta(days=1),
        clerk=staff("clerk"),
        destination="東京都千代田区",
    )
    spec = segments.parse({"towns": ["緑町:2"]})
    chosen = set(segments.periods(spec, on).values_list("resident_id", flat=True))
    assert stays.pk in chosen and leaves.pk not in chosen
    # On a date before the move-out both lived there.
    earlier = set(
        segments.periods(spec, on - timedelta(days=30)).values_list("resident_id", flat=True)
    )
    assert {stays.pk, leaves.pk} <= earlier


def test_consent_withdrawal_removes_a_resident_from_tax_segments_at_once():
    from payments import services as payment_services
    from payments.models import Revenue
    from payments.revenues import revenue_defaults

    on = timezone.localdate()
    resident, user = resident_with_account()
    revenue, _c = Revenue.objects.get_or_create(
        code="resident_tax", defaults=revenue_defaults("resident_tax")
    )
    payment_services.create_charge(
        payer=resident,
        revenue=revenue,
        fiscal_year=on.year,
        installments=[(on + timedelta(days=5), 5000)],
    )
    spec = segments.parse({"installment_due_days": 7})
    assert segments.count(spec, on)["residents"] == 0  # no consent yet
    services.grant_consent(user=user, resident=resident)
    assert segments.count(spec, on)["residents"] == 1
    services.withdraw_consent(user=user)
    assert segments.count(spec, on)["residents"] == 0
