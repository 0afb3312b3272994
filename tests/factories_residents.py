"""Builders for resident records. They go through residents.services, so every record has its
period, movement and head the way the register would."""

from __future__ import annotations

import itertools
from datetime import date

from cityhall.roles import SYSTEM
from residents import mynumber, services
from residents.models import Household, Resident

_counter = itertools.count(1)


def valid_mynumber(n: int) -> str:
    base = f"{n:011d}"
    return base + str(mynumber.check_digit(base))


def move_in(
    *,
    family_name: str = "山田",
    given_name: str | None = None,
    family_name_kana: str = "ヤマダ",
    given_name_kana: str = "タロウ",
    birth_date: date = date(1980, 5, 1),
    sex: str = "male",
    effective_on: date = date(2020, 4, 1),
    address: str = "本町3丁目12番4号",
    household: Household | None = None,
    relationship: str = "",
    mynumber: str = "",
    clerk=SYSTEM,
) -> Resident:
    movement = services.register_move_in(
        family_name=family_name,
        given_name=given_name or f"太郎{next(_counter)}",
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        birth_date=birth_date,
        sex=sex,
        effective_on=effective_on,
        notified_on=effective_on,
        clerk=clerk,
        address=address if household is None else "",
        household=household,
        relationship=relationship,
        mynumber=mynumber,
    )
    return movement.resident


def family(*, address: str = "本町3丁目12番4号", since: date = date(2020, 4, 1)):
    """A household of three: head 山田太郎, spouse 花子, child 一郎."""
    head = move_in(given_name="太郎", given_name_kana="タロウ", address=address, effective_on=since)
    spouse = move_in(
        given_name="花子",
        given_name_kana="ハナコ",
        sex="female",
        birth_date=date(1982, 7, 7),
        household=head.household,
        relationship="妻",
        effective_on=since,
    )
    child = move_in(
        given_name="一郎",
        given_name_kana="イチロウ",
        birth_date=date(2012, 1, 15),
        household=head.household,
        relationship="子",
        effective_on=since,
    )
    return head, spouse, child
