"""Linking an account to the register with the four basic facts of a マイナンバーカード."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from factories_identity import register_resident

from cityhall.models import AuditEvent
from factories import UserFactory
from residents import services

pytestmark = pytest.mark.django_db

CARD = {
    "name": "山田 花子",
    "address": "東京都まちば市本町3丁目5番12号",
    "birth_date": date(1990, 1, 2),
    "sex": "female",
}


@pytest.fixture(autouse=True)
def city(settings):
    settings.CITY_NAME = "まちば市"


def hanako(**overrides):
    facts = {
        "name": "山田 花子",
        "address": "本町3丁目5番12号",
        "birth_date": date(1990, 1, 2),
        "sex": "female",
    } | overrides
    return register_resident(**facts)


def link(user, **overrides):
    return services.link_account_by_card(user=user, provider="jpki", **(CARD | overrides))


def test_four_matching_facts_link_the_account():
    user = UserFactory(role="resident")
    resident = hanako()
    assert link(user) == resident
    resident.refresh_from_db()
    assert resident.user_id == user.pk
    event = AuditEvent.objects.get(action="residents.account_linked")
    assert event.details == {"method": "mynumber_card", "provider": "jpki"}


@pytest.mark.parametrize(
    "card",
    [
        {"name": "山田花子"},  # no space between family and given name
        {"name": "山田　花子"},  # an ideographic space
        {"address": "東京都まちば市本町三丁目5番12号"},  # kanji numerals
        {"address": "東京都まちば市本町3-5-12 メゾン本町201"},  # hyphens and a building
    ],
)
def test_the_same_facts_written_another_way_still_link(card):
    user = UserFactory(role="resident")
    resident = hanako()
    assert link(user, **card) == resident


@pytest.mark.parametrize(
    ("card", "mismatched"),
    [
        ({"name": "山田 華子"}, ["name"]),
        ({"address": "東京都まちば市本町3丁目5番13号"}, ["address"]),
        ({"address": "東京都となり市本町3丁目5番12号"}, ["address"]),
        ({"sex": "male"}, ["sex"]),
        ({"name": "山田 華子", "address": "東京都まちば市北町1番地"}, ["name", "address"]),
    ],
)
def test_a_card_that_differs_is_refused_naming_what_differs(card, mismatched):
    user = UserFactory(role="resident")
    resident = hanako()
    with pytest.raises(ValidationError) as refused:
        link(user, **card)
    assert refused.value.code == "mismatch"
    assert refused.value.params["fields"] == mismatched
    resident.refresh_from_db()
    assert resident.user_id is None
    event = AuditEvent.objects.get(action="residents.card_link_refused")
    assert event.details["mismatched"] == mismatched


def test_a_card_of_someone_not_in_the_register_is_refused():
    user = UserFactory(role="resident")
    with pytest.raises(ValidationError) as refused:
        link(user)
    assert refused.value.code == "mismatch"


def test_a_record_already_linked_to_another_account_is_not_taken_over():
    owner = UserFactory(role="resident")
    hanako(user=owner)
    other = UserFactory(role="resident")
    with pytest.raises(ValidationError) as refused:
        link(other)
    assert refused.value.code == "linked_elsewhere"


def test_an_account_already_linked_is_not_linked_again():
    user = UserFactory(role="resident")
    hanako(user=user)
    with pytest.raises(ValidationError) as refused:
        link(user)
    assert refused.value.code == "linked"
