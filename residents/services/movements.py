"""Every change to the resident register (住民基本台帳), one function per use case.

Each function is keyword-only, runs in one transaction, writes a `Movement` (異動) and an audit
event, and refuses bad input with a `ValidationError` whose message is in the reader's language (gettext). The
residence history is kept in `ResidencePeriod` rows that are closed, never rewritten, so any past
date can be reconstructed (住民基本台帳法 8条: records are kept by 記載・消除・修正, not erased).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cityhall.events import raise_event
from cityhall.japanese import normalize_name

from ..models import Household, Movement, ResidencePeriod, Resident
from .addresses import address_from_text
from .common import (
    HEAD_RELATIONSHIP,
    MSG_HOUSEHOLD_EMPTY,
    MSG_NOT_CURRENT,
    MSG_NOT_MEMBER,
    MSG_RELATIONSHIP_REQUIRED,
    _current_members,
    _lock_household,
    _lock_resident,
    _not_future,
    _require,
)
from .mynumbers import _mynumber_fields, mask_of
from .records import (
    _close_period,
    _dissolve_if_empty,
    _hand_over_head,
    _movement,
    _name_fields,
    _new_resident_code,
    _next_household_number,
    _open_period,
    _snapshot,
    fill_search_fields,
)

# The permission every change of the register needs, corrections included (住民基本台帳法8条:
# 記載・消除・修正 are the city's acts, each written as a movement).
MOVEMENT_PERMISSION = "residents.add_movement"


# --- use cases ----------------------------------------------------------------------------------


def _joining(household: Household, relationship: str) -> tuple[Household, str]:
    """Lock a household a new member joins and check the member's relationship to the head."""
    household = _lock_household(household)
    if not _current_members(household):
        raise ValidationError({"household": MSG_HOUSEHOLD_EMPTY})
    relationship = normalize_name(relationship)
    if not relationship or relationship == HEAD_RELATIONSHIP:
        raise ValidationError({"relationship": MSG_RELATIONSHIP_REQUIRED})
    return household, relationship


def _newcomer_names(
    *,
    clerk,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    birth_date: date,
    sex: str,
    moved_in_on: date | None = None,
) -> dict[str, str]:
    """What 転入 and 出生 check alike before a new person enters the register, in this order:
    the clerk's permission, the names (normalised), a birth date not in the future, for a 転入
    its date (not in the future, not before the birth), and the sex. Returns the name fields."""
    _require(clerk, MOVEMENT_PERMISSION)
    names = _name_fields(
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
    )
    _not_future("birth_date", birth_date)
    if moved_in_on is not None:
        _not_future("effective_on", moved_in_on, allow_days=0)
        if birth_date > moved_in_on:
            raise ValidationError({"birth_date": _("生年月日が異動日より後です。")})
    if sex not in Resident.Sex.values:
        raise ValidationError({"sex": _("性別を選んでください。")})
    return names


def _save_new(resident: Resident, *, mynumber: str, since: date) -> None:
    """Save a new resident row with its sealed My Number (when given) and search columns, and
    open its residence period from `since`."""
    if mynumber:
        for field, value in _mynumber_fields(
            mynumber, resident_code=resident.resident_code, exclude_pk=None
        ).items():
            setattr(resident, field, value)
    fill_search_fields(resident)
    resident.save()
    _open_period(resident, since)


@transaction.atomic
def register_move_in(
    *,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    birth_date: date,
    sex: str,
    effective_on: date,
    notified_on: date,
    clerk,
    address: str = "",
    household: Household | None = None,
    relationship: str = "",
    mynumber: str = "",
    previous_address: str = "",
    registered_domicile: str = "",
    domicile_head: str = "",
) -> Movement:
    """転入: a person moves into the city, founding a household at `address` or joining one."""
    names = _newcomer_names(
        clerk=clerk,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        birth_date=birth_date,
        sex=sex,
        moved_in_on=effective_on,
    )
    if household is None:
        if not address.strip():
            raise ValidationError({"address": _("新しい世帯の住所を入力してください。")})
        household = Household.objects.create(
            number=_next_household_number(),
            address=address_from_text(address),
            address_since=effective_on,
            formed_on=effective_on,
        )
        relationship, is_head = HEAD_RELATIONSHIP, True
    else:
        household, relationship = _joining(household, relationship)
        is_head = False
    resident = Resident(
        resident_code=_new_resident_code(),
        birth_date=birth_date,
        sex=sex,
        household=household,
        relationship=relationship,
        is_head=is_head,
        became_resident_on=effective_on,
        registered_domicile=normalize_name(registered_domicile),
        domicile_head=normalize_name(domicile_head),
        **names,
    )
    _save_new(resident, mynumber=mynumber, since=effective_on)
    previous = {"address": normalize_name(previous_address)} if previous_address else {}
    return _movement(
        resident=resident,
        kind=Movement.Kind.MOVE_IN,
        notified_on=notified_on,
        effective_on=effective_on,
        previous=previous,
        clerk=clerk,
    )


@transaction.atomic
def register_birth(
    *,
    household: Household,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    birth_date: date,
    sex: str,
    notified_on: date,
    clerk,
    relationship: str = "子",
    mynumber: str = "",
) -> Movement:
    """出生: a child born to a household in the city (戸籍法49条: notified within 14 days)."""
    names = _newcomer_names(
        clerk=clerk,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        birth_date=birth_date,
        sex=sex,
    )
    household, relationship = _joining(household, relationship)
    resident = Resident(
        resident_code=_new_resident_code(),
        birth_date=birth_date,
        sex=sex,
        household=household,
        relationship=relationship,
        became_resident_on=birth_date,
        **names,
    )
    _save_new(resident, mynumber=mynumber, since=birth_date)
    movement = _movement(
        resident=resident,
        kind=Movement.Kind.BIRTH,
        notified_on=notified_on,
        effective_on=birth_date,
        previous={},
        clerk=clerk,
    )
    # The household is told about 児童手当 and infant checkups (児童手当法, 母子保健法12条).
    head = next((m for m in _current_members(household) if m.is_head), None)
    if head is not None:
        raise_event(
            "residents.birth_registered",
            resident_id=head.pk,
            dedupe_key=f"residents.birth:{movement.pk}",
            context={"child_name": resident.given_name, "birth_date": birth_date.isoformat()},
        )
    return movement


def _leave(
    *,
    resident: Resident,
    status: str,
    kind: str,
    left_on: date,
    period_end: date,
    notified_on: date,
    clerk,
    new_head: Resident | None,
    reason: str,
    extra_new: dict,
) -> Movement:
    resident = _lock_resident(resident)
    if resident.status != Resident.Status.CURRENT:
        raise ValidationError({"resident": MSG_NOT_CURRENT})
    household = _lock_household(resident.household)
    previous = _snapshot(resident)
    if resident.is_head:
        _hand_over_head(
            leaving=resident,
            new_head=new_head,
            effective_on=period_end,
            notified_on=notified_on,
            clerk=clerk,
        )
    _close_period(resident, period_end)
    resident.status = status
    resident.is_head = False
    resident.left_on = left_on
    resident.save(update_fields=["status", "is_head", "left_on"])
    _dissolve_if_empty(household, left_on)
    return _movement(
        resident=resident,
        kind=kind,
        notified_on=notified_on,
        effective_on=left_on,
        previous=previous,
        clerk=clerk,
        reason=reason,
        new=_snapshot(resident) | extra_new,
    )


@transaction.atomic
def register_move_out(
    *,
    resident: Resident,
    effective_on: date,
    notified_on: date,
    clerk,
    destination: str = "",
    new_head: Resident | None = None,
) -> Movement:
    """転出: the resident leaves the city. A head who leaves members behind names a successor.

    転出届 may be made up to 14 days before the move (住民基本台帳法24条), so the effective date
    may lie in the near future. The resident is no longer a member from `effective_on`.
    """
    _require(clerk, MOVEMENT_PERMISSION)
    _not_future("effective_on", effective_on, allow_days=14)
    return _leave(
        resident=resident,
        status=Resident.Status.MOVED_OUT,
        kind=Movement.Kind.MOVE_OUT,
        left_on=effective_on,
        period_end=effective_on,
        notified_on=notified_on,
        clerk=clerk,
        new_head=new_head,
        reason="",
        extra_new={"destination": normalize_name(destination)} if destination else {},
    )


@transaction.atomic
def register_death(
    *, resident: Resident, died_on: date, notified_on: date, clerk, new_head: Resident | None = None
) -> Movement:
    """死亡: the record is removed (消除) as of the day of death; the deceased was a member that day."""
    _require(clerk, MOVEMENT_PERMISSION)
    _not_future("died_on", died_on)
    return _leave(
        resident=resident,
        status=Resident.Status.DECEASED,
        kind=Movement.Kind.DEATH,
        left_on=died_on,
        period_end=died_on + timedelta(days=1),
        notified_on=notified_on,
        clerk=clerk,
        new_head=new_head,
        reason="",
        extra_new={},
    )


@transaction.atomic
def register_relocation(
    *,
    residents: Sequence[Resident],
    address: str,
    effective_on: date,
    notified_on: date,
    clerk,
    new_head: Resident | None = None,
) -> list[Movement]:
    """転居: members of one household move to another address in the city.

    The whole household moves with its number; some members moving form a new household whose
    head is the moving head, or else the first person listed. If the head moves and others
    stay, `new_head` names who heads those who stay.
    """
    _require(clerk, MOVEMENT_PERMISSION)
    _not_future("effective_on", effective_on)
    if not residents:
        raise ValidationError({"residents": _("転居する人を選んでください。")})
    movers = [_lock_resident(r) for r in residents]
    if any(m.status != Resident.Status.CURRENT for m in movers):
        raise ValidationError({"residents": MSG_NOT_CURRENT})
    if len({m.household_id for m in movers}) != 1:
        raise ValidationError({"residents": _("転居する人は同じ世帯の世帯員にしてください。")})
    household = _lock_household(movers[0].household)
    new_address = address_from_text(address)
    if new_address.pk == household.address_id:
        raise ValidationError({"address": _("現在と同じ住所です。")})
    members = _current_members(household)
    mover_ids = {m.pk for m in movers}
    previous = {m.pk: _snapshot(m) for m in movers}
    if mover_ids >= {m.pk for m in members}:
        household.address = new_address
        household.address_since = effective_on
        household.save(update_fields=["address", "address_since"])
    else:
        head = next((m for m in movers if m.is_head), None)
        if head is not None:
            _hand_over_head(
                leaving=head,
                new_head=new_head,
                effective_on=effective_on,
                notified_on=notified_on,
                clerk=clerk,
            )
        head = head or movers[0]
        new_household = Household.objects.create(
            number=_next_household_number(),
            address=new_address,
            address_since=effective_on,
            formed_on=effective_on,
        )
        # The new head first: the one-head index holds at every statement.
        for mover in sorted(movers, key=lambda m: m.pk != head.pk):
            mover.household = new_household
            mover.is_head = mover.pk == head.pk
            if mover.is_head:
                mover.relationship = HEAD_RELATIONSHIP
            mover.save(update_fields=["household", "is_head", "relationship"])
    movements = []
    for mover in movers:
        mover.refresh_from_db()
        _close_period(mover, effective_on)
        _open_period(mover, effective_on)
        movements.append(
            _movement(
                resident=mover,
                kind=Movement.Kind.RELOCATION,
                notified_on=notified_on,
                effective_on=effective_on,
                previous=previous[mover.pk],
                clerk=clerk,
            )
        )
    _dissolve_if_empty(household, effective_on)
    return movements


@transaction.atomic
def change_head_of_household(
    *,
    household: Household,
    new_head: Resident,
    effective_on: date,
    notified_on: date,
    clerk,
    former_head_relationship: str,
) -> Movement:
    """世帯主変更 (住民基本台帳法25条). Returns the new head's movement."""
    _require(clerk, MOVEMENT_PERMISSION)
    _not_future("effective_on", effective_on)
    household = _lock_household(household)
    members = _current_members(household)
    successor = next((m for m in members if m.pk == new_head.pk), None)
    if successor is None:
        raise ValidationError({"new_head": MSG_NOT_MEMBER})
    if successor.is_head:
        raise ValidationError({"new_head": _("この人はすでに世帯主です。")})
    former_head_relationship = normalize_name(former_head_relationship or "")
    if not former_head_relationship or former_head_relationship == HEAD_RELATIONSHIP:
        raise ValidationError({"former_head_relationship": MSG_RELATIONSHIP_REQUIRED})
    former = next(m for m in members if m.is_head)
    before = {former.pk: _snapshot(former), successor.pk: _snapshot(successor)}
    former.is_head = False
    former.relationship = former_head_relationship
    former.save(update_fields=["is_head", "relationship"])
    successor.is_head = True
    successor.relationship = HEAD_RELATIONSHIP
    successor.save(update_fields=["is_head", "relationship"])
    result = None
    for person in (former, successor):
        _close_period(person, effective_on)
        _open_period(person, effective_on)
        result = _movement(
            resident=person,
            kind=Movement.Kind.HOUSEHOLD_CHANGE,
            notified_on=notified_on,
            effective_on=effective_on,
            previous=before[person.pk],
            clerk=clerk,
            reason="世帯主の変更 / new head of household",
        )
    return result


CORRECTABLE_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "relationship",
    "registered_domicile",
    "domicile_head",
    "mynumber",
)


@transaction.atomic
def correct_record(
    *, resident: Resident, changes: Mapping[str, Any], reason: str, notified_on: date, clerk
) -> Movement:
    """職権修正・記載事項変更: fix fields of the record. The movement keeps the old values.

    A My Number change is recorded masked: the movement never holds the number itself.
    """
    _require(clerk, MOVEMENT_PERMISSION)
    if not reason.strip():
        raise ValidationError({"reason": _("修正の理由を入力してください。")})
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("修正できない項目です: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    resident = _lock_resident(resident)
    values = dict(changes)
    names = {
        f: values.get(f, getattr(resident, f))
        for f in ("family_name", "given_name", "family_name_kana", "given_name_kana")
    }
    values.update({f: v for f, v in _name_fields(**names).items() if f in values})
    if "birth_date" in values:
        _not_future("birth_date", values["birth_date"])
    if "sex" in values and values["sex"] not in Resident.Sex.values:
        raise ValidationError({"sex": _("性別を選んでください。")})
    if "relationship" in values:
        values["relationship"] = normalize_name(values["relationship"])
        if resident.is_head != (values["relationship"] == HEAD_RELATIONSHIP):
            raise ValidationError(
                {"relationship": _("世帯主の変更は世帯主変更の手続で行ってください。")}
            )
    for field in ("registered_domicile", "domicile_head"):
        if field in values:
            values[field] = normalize_name(values[field])
    previous: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for field, value in values.items():
        if field == "mynumber":
            continue
        old = getattr(resident, field)
        if old != value:
            previous[field] = old.isoformat() if isinstance(old, date) else old
            new[field] = value.isoformat() if isinstance(value, date) else value
            setattr(resident, field, value)
    if values.get("mynumber"):
        fields = _mynumber_fields(
            values["mynumber"], resident_code=resident.resident_code, exclude_pk=resident.pk
        )
        if fields["mynumber_digest"] != resident.mynumber_digest:
            previous["mynumber"] = mask_of(resident)
            for field, value in fields.items():
                setattr(resident, field, value)
            new["mynumber"] = mask_of(resident)
    if not new:
        raise ValidationError(_("変更がありません。"))
    fill_search_fields(resident)
    resident.save()
    if "relationship" in new and resident.status == Resident.Status.CURRENT:
        # A correction says the period's relationship was always this: fix it in place.
        ResidencePeriod.objects.filter(resident=resident, valid__upper_inf=True).update(
            relationship=resident.relationship
        )
    return _movement(
        resident=resident,
        kind=Movement.Kind.CORRECTION,
        notified_on=notified_on,
        effective_on=notified_on,
        previous=previous,
        new=new,
        clerk=clerk,
        reason=reason.strip(),
    )
