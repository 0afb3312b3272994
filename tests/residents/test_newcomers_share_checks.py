"""転入 and 出生 put a new person on the register through the same checks and the same save
(one helper each, not two copies), and the checks keep their order."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from factories_residents import move_in

from residents.models import ResidencePeriod
from residents.services import movements


@pytest.fixture
def spied(monkeypatch):
    calls = {"checks": [], "saves": []}
    checks, save = movements._newcomer_names, movements._save_new

    def checking(**kwargs):
        calls["checks"].append(kwargs.get("moved_in_on"))
        return checks(**kwargs)

    def saving(resident, **kwargs):
        calls["saves"].append(kwargs["since"])
        return save(resident, **kwargs)

    monkeypatch.setattr(movements, "_newcomer_names", checking)
    monkeypatch.setattr(movements, "_save_new", saving)
    return calls


def test_move_in_and_birth_go_through_the_one_check_and_the_one_save(spied, clerk):
    parent = move_in(clerk=clerk, effective_on=date(2020, 4, 1))
    baby = movements.register_birth(
        household=parent.household,
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        birth_date=date(2023, 6, 1),
        sex="female",
        notified_on=date(2023, 6, 10),
        clerk=clerk,
    ).resident
    assert spied["checks"] == [date(2020, 4, 1), None]
    assert spied["saves"] == [date(2020, 4, 1), date(2023, 6, 1)]
    # The shared save opened each one's residence period from the day they joined.
    assert ResidencePeriod.objects.get(resident=baby).valid.lower == date(2023, 6, 1)
    assert ResidencePeriod.objects.get(resident=parent).valid.lower == date(2020, 4, 1)


def test_the_move_in_date_is_still_checked_before_the_sex(clerk):
    with pytest.raises(ValidationError) as refused:
        move_in(clerk=clerk, birth_date=date(2021, 1, 1), effective_on=date(2020, 4, 1), sex="?")
    assert set(refused.value.message_dict) == {"birth_date"}
    with pytest.raises(ValidationError) as refused:
        move_in(clerk=clerk, sex="?")
    assert set(refused.value.message_dict) == {"sex"}
