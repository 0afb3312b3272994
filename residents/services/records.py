"""The register's building blocks shared by every movement: names, residence periods (closed,
never rewritten), snapshots and the Movement row with its audit event."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange
from django.utils.translation import gettext as _

from cityhall import audit
from cityhall.japanese import normalize_kana_name, normalize_name, search_key
from cityhall.roles import person_or_none

from ..models import Household, Movement, ResidencePeriod, Resident
from .common import (
    HEAD_RELATIONSHIP,
    MSG_BEFORE_PERIOD,
    MSG_HEAD_NEEDS_SUCCESSOR,
    MSG_NOT_MEMBER,
    _current_members,
)


def _name_fields(
    *, family_name: str, given_name: str, family_name_kana: str, given_name_kana: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    for field, value in (("family_name", family_name), ("given_name", given_name)):
        value = normalize_name(value or "")
        if not value:
            errors[field] = _("氏名を入力してください。")
        out[field] = value
    for field, value in (
        ("family_name_kana", family_name_kana),
        ("given_name_kana", given_name_kana),
    ):
        try:
            out[field] = normalize_kana_name(value or "")
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise ValidationError(errors)
    return out


def fill_search_fields(resident: Resident) -> None:
    """Keep the trigram-indexed search columns in step with the names."""
    resident.search_name = normalize_name(f"{resident.family_name} {resident.given_name}")
    resident.search_kana = search_key(f"{resident.family_name_kana} {resident.given_name_kana}")


def _next_household_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('residents_household_number_seq')")
        (value,) = cursor.fetchone()
    return f"{value:010d}"


def _new_resident_code() -> str:
    while True:
        code = f"{secrets.randbelow(10**11):011d}"
        if not Resident.objects.filter(resident_code=code).exists():
            return code


def _snapshot(resident: Resident) -> dict[str, Any]:
    household = resident.household
    return {
        "household": household.number if household else None,
        "address": household.address.label if household else None,
        "relationship": resident.relationship,
        "is_head": resident.is_head,
        "status": resident.status,
    }


def _current_period(resident: Resident) -> ResidencePeriod | None:
    return (
        ResidencePeriod.objects.select_for_update()
        .filter(resident=resident, valid__upper_inf=True)
        .first()
    )


def _close_period(resident: Resident, end: date) -> None:
    """End the open period the day before `end` (ranges are [start, end))."""
    period = _current_period(resident)
    if period is None:
        return
    if end <= period.valid.lower:
        raise ValidationError({"effective_on": MSG_BEFORE_PERIOD})
    period.valid = DateRange(period.valid.lower, end, "[)")
    period.save(update_fields=["valid"])


def _open_period(resident: Resident, start: date) -> ResidencePeriod:
    household = resident.household
    return ResidencePeriod.objects.create(
        resident=resident,
        household=household,
        address_id=household.address_id,
        relationship=resident.relationship,
        is_head=resident.is_head,
        valid=DateRange(start, None, "[)"),
    )


def _movement(
    *,
    resident: Resident,
    kind: str,
    notified_on: date,
    effective_on: date,
    previous: dict,
    clerk,
    reason: str = "",
    new: dict | None = None,
) -> Movement:
    movement = Movement.objects.create(
        resident=resident,
        household=resident.household,
        kind=kind,
        notified_on=notified_on,
        effective_on=effective_on,
        previous=previous,
        new=_snapshot(resident) if new is None else new,
        reason=reason,
        clerk=person_or_none(clerk),
    )
    audit.record(
        action=f"residents.{kind}",
        actor=clerk,
        obj=resident,
        details={"movement": movement.pk, "effective_on": effective_on.isoformat()},
    )
    return movement


def _hand_over_head(
    *, leaving: Resident, new_head: Resident | None, effective_on: date, notified_on: date, clerk
) -> None:
    """Before `leaving` (the head) leaves the household, make `new_head` its head."""
    remaining = [m for m in _current_members(leaving.household) if m.pk != leaving.pk]
    if not remaining:
        return
    if new_head is None:
        raise ValidationError({"new_head": MSG_HEAD_NEEDS_SUCCESSOR})
    successor = next((m for m in remaining if m.pk == new_head.pk), None)
    if successor is None:
        raise ValidationError({"new_head": MSG_NOT_MEMBER})
    leaving.is_head = False
    leaving.save(update_fields=["is_head"])
    previous = _snapshot(successor)
    _close_period(successor, effective_on)
    successor.is_head = True
    successor.relationship = HEAD_RELATIONSHIP
    successor.save(update_fields=["is_head", "relationship"])
    _open_period(successor, effective_on)
    _movement(
        resident=successor,
        kind=Movement.Kind.HOUSEHOLD_CHANGE,
        notified_on=notified_on,
        effective_on=effective_on,
        previous=previous,
        clerk=clerk,
        reason="世帯主の変更 / new head of household",
    )


def _dissolve_if_empty(household: Household, on: date) -> None:
    if not Resident.objects.filter(household=household, status=Resident.Status.CURRENT).exists():
        household.dissolved_on = on
        household.save(update_fields=["dissolved_on"])
