"""Every change to the resident register (住民基本台帳), one function per use case.

Each function is keyword-only, runs in one transaction, writes a `Movement` (異動) and an audit
event, and refuses bad input with a `ValidationError` whose message is in the reader's language (gettext). The
residence history is kept in `ResidencePeriod` rows that are closed, never rewritten, so any past
date can be reconstructed (住民基本台帳法 8条: records are kept by 記載・消除・修正, not erased).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, pgettext_lazy

from cityhall import audit
from cityhall.events import raise_event
from cityhall.japanese import normalize_kana_name, normalize_name, parse_address, search_key
from cityhall.roles import CLERK, SUPERVISOR, has_role, is_staff_member

from . import mynumber as mynumber_rules
from . import selectors, vault
from .models import (
    ActivationCode,
    Address,
    Household,
    LinkAttempt,
    Movement,
    ResidencePeriod,
    Resident,
)

HEAD_RELATIONSHIP = "世帯主"
# Stored in the audit log in Japanese; marked so the English labels are in the catalogue.
ACCESS_PURPOSES: dict[str, str] = {
    "counter": gettext_noop("窓口対応"),
    "review": gettext_noop("申請審査"),
    "billing": gettext_noop("税・料金"),
    "other": gettext_noop("その他"),
}
ACTIVATION_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
ACTIVATION_CODE_DAYS = 30
LINK_MAX_FAILURES = 5
LINK_LOCK_HOURS = 24

MSG_HEAD_NEEDS_SUCCESSOR = gettext_lazy(
    "世帯主が転出・死亡・転居する場合は、残る世帯員から新しい世帯主を指定してください。"
)
MSG_NOT_CURRENT = gettext_lazy("この住民は現在住民ではありません。")
MSG_NOT_MEMBER = gettext_lazy("指定された人はこの世帯の現在の世帯員ではありません。")
MSG_BEFORE_PERIOD = gettext_lazy("異動日が現在の記録の開始日より前です。")
MSG_FUTURE = gettext_lazy("日付が未来になっています。")
MSG_MYNUMBER_TAKEN = gettext_lazy("この個人番号は別の住民に登録されています。")
MSG_HOUSEHOLD_EMPTY = gettext_lazy("この世帯には現在の世帯員がいません。")
MSG_RELATIONSHIP_REQUIRED = gettext_lazy("続柄を入力してください。")
MSG_PURPOSE_REQUIRED = gettext_lazy("利用目的を選んでください。")
MSG_LINK_LOCKED = gettext_lazy(
    "入力の誤りが{count}回続いたため、利用者登録を一時停止しています。{hours}時間後にもう一度お試しいただくか、市役所の窓口にお問い合わせください。"
)
MSG_LINK_WRONG = gettext_lazy("登録コードまたは生年月日が正しくありません（あと{left}回まで）。")
MSG_ALREADY_LINKED = gettext_lazy("このアカウントはすでに住民情報と連携しています。")


# --- helpers ------------------------------------------------------------------------------------


def _keys() -> list[str]:
    return list(settings.MYNUMBER_KEYS)


def _require_staff(clerk) -> None:
    # clerk=None is the system itself (seeding, imports); a person must be staff.
    if clerk is not None and not is_staff_member(clerk):
        raise PermissionDenied(_("職員だけが住民記録を変更できます。"))


def _today() -> date:
    return timezone.localdate()


def _not_future(field: str, value: date, *, allow_days: int = 0) -> None:
    if value > _today() + timedelta(days=allow_days):
        raise ValidationError({field: MSG_FUTURE})


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


def address_from_text(text: str, *, postal_code: str = "") -> Address:
    """The Address row for a typed address in this city, created when new."""
    try:
        parts = parse_address(text)
    except ValueError as exc:
        raise ValidationError({"address": str(exc)}) from exc
    candidate = Address(
        town=parts["town"],
        chome=parts["chome"],
        banchi=parts["banchi"],
        go=parts["go"] or "",
        building=parts["building"],
        postal_code=postal_code,
    )
    candidate.normalized = candidate.label
    address, _created = Address.objects.get_or_create(
        normalized=candidate.normalized,
        defaults={
            f: getattr(candidate, f)
            for f in ("town", "chome", "banchi", "go", "building", "postal_code")
        },
    )
    return address


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
        clerk=clerk,
    )
    audit.record(
        action=f"residents.{kind}",
        actor=clerk,
        obj=resident,
        details={"movement": movement.pk, "effective_on": effective_on.isoformat()},
    )
    return movement


def _lock_household(household: Household) -> Household:
    return Household.objects.select_for_update().select_related("address").get(pk=household.pk)


def _lock_resident(resident: Resident) -> Resident:
    locked = (
        Resident.objects.select_for_update(of=("self",))
        .select_related("household__address")
        .get(pk=resident.pk)
    )
    return locked


def _current_members(household: Household) -> list[Resident]:
    return list(
        Resident.objects.select_for_update(of=("self",))
        .select_related("household__address")
        .filter(household=household, status=Resident.Status.CURRENT)
        .order_by("-is_head", "birth_date", "id")
    )


def _mynumber_fields(number: str, *, resident_code: str, exclude_pk: int | None) -> dict:
    try:
        number = mynumber_rules.normalize(number)
    except ValueError as exc:
        raise ValidationError({"mynumber": str(exc)}) from exc
    keys = _keys()
    taken = Resident.objects.filter(
        status=Resident.Status.CURRENT, mynumber_digest__in=vault.digests(number, keys=keys)
    )
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"mynumber": MSG_MYNUMBER_TAKEN})
    return {
        "mynumber_ciphertext": vault.encrypt(number, keys=keys, associated=resident_code),
        "mynumber_digest": vault.digest(number, secret=keys[0]),
    }


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


# --- use cases ----------------------------------------------------------------------------------


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
    _require_staff(clerk)
    names = _name_fields(
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
    )
    _not_future("birth_date", birth_date)
    _not_future("effective_on", effective_on, allow_days=0)
    if birth_date > effective_on:
        raise ValidationError({"birth_date": _("生年月日が異動日より後です。")})
    if sex not in Resident.Sex.values:
        raise ValidationError({"sex": _("性別を選んでください。")})
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
        household = _lock_household(household)
        if not _current_members(household):
            raise ValidationError({"household": MSG_HOUSEHOLD_EMPTY})
        relationship = normalize_name(relationship)
        if not relationship or relationship == HEAD_RELATIONSHIP:
            raise ValidationError({"relationship": MSG_RELATIONSHIP_REQUIRED})
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
    if mynumber:
        for field, value in _mynumber_fields(
            mynumber, resident_code=resident.resident_code, exclude_pk=None
        ).items():
            setattr(resident, field, value)
    fill_search_fields(resident)
    resident.save()
    _open_period(resident, effective_on)
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
    _require_staff(clerk)
    names = _name_fields(
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
    )
    _not_future("birth_date", birth_date)
    if sex not in Resident.Sex.values:
        raise ValidationError({"sex": _("性別を選んでください。")})
    household = _lock_household(household)
    if not _current_members(household):
        raise ValidationError({"household": MSG_HOUSEHOLD_EMPTY})
    relationship = normalize_name(relationship)
    if not relationship or relationship == HEAD_RELATIONSHIP:
        raise ValidationError({"relationship": MSG_RELATIONSHIP_REQUIRED})
    resident = Resident(
        resident_code=_new_resident_code(),
        birth_date=birth_date,
        sex=sex,
        household=household,
        relationship=relationship,
        became_resident_on=birth_date,
        **names,
    )
    if mynumber:
        for field, value in _mynumber_fields(
            mynumber, resident_code=resident.resident_code, exclude_pk=None
        ).items():
            setattr(resident, field, value)
    fill_search_fields(resident)
    resident.save()
    _open_period(resident, birth_date)
    movement = _movement(
        resident=resident,
        kind=Movement.Kind.BIRTH,
        notified_on=notified_on,
        effective_on=birth_date,
        previous={},
        clerk=clerk,
    )
    # Issue 15: the household is told about 児童手当 and infant checkups (notices, if installed).
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
    _require_staff(clerk)
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
    _require_staff(clerk)
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
    _require_staff(clerk)
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
    _require_staff(clerk)
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
    _require_staff(clerk)
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


# --- My Number ----------------------------------------------------------------------------------


def decrypt_mynumber(resident: Resident) -> str:
    """The plain number, for code that has already checked permission and logged the purpose."""
    if not resident.mynumber_ciphertext:
        return ""
    return vault.decrypt(
        resident.mynumber_ciphertext, keys=_keys(), associated=resident.resident_code
    )


def mask_of(resident: Resident) -> str:
    """The masked number (********9084) for screens, or "" when none is registered."""
    if not resident.mynumber_ciphertext:
        return ""
    return mynumber_rules.mask(decrypt_mynumber(resident))


def reveal_mynumber(*, resident: Resident, actor, purpose: str, request=None) -> str:
    """Show a My Number to a supervisor, writing the purpose to the audit log (番号法19条)."""
    if actor is None or not actor.has_perm("residents.reveal_mynumber"):
        raise PermissionDenied(_("個人番号を表示する権限がありません。"))
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    number = decrypt_mynumber(resident)
    audit.record(
        action="residents.mynumber_revealed",
        actor=actor,
        obj=resident,
        purpose=purpose,
        request=request,
    )
    return number


def mynumber_for_certificate(
    *, resident: Resident, actor, purpose: str, own_request: bool = False
) -> str:
    """The plain My Number to print on a certificate of residence (住民票の写し) that asked for it.

    住民基本台帳法12条5項: 個人番号 is printed only on request, and only for the person or a member
    of their household; the caller (procedures) checks that. Here: the clerk or supervisor who
    approved the request is the actor, and the access is written to the audit log with the
    purpose (番号法19条). A request the resident made from their own account (`own_request`)
    sends the number only to them; any other request (at the counter) needs an approver who
    holds reveal_mynumber. Returns "" when no number is registered (the access is still logged).
    """
    if not has_role(actor, CLERK, SUPERVISOR):
        raise PermissionDenied(_("個人番号を証明書に記載できるのは職員だけです。"))
    if not own_request and not actor.has_perm("residents.reveal_mynumber"):
        raise PermissionDenied(_("個人番号を扱う権限がありません。"))
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    number = decrypt_mynumber(resident)
    audit.record(
        action="resident.mynumber_for_certificate",
        actor=actor,
        obj=resident,
        purpose=purpose,
        details={"registered": bool(number)},
    )
    return number


def seal(data: bytes, *, context: str) -> bytes:
    """Encrypt bytes with the My Number key ring (first key), bound to `context` (a name that
    says what the bytes are, e.g. "certificate:2026-0000012"): for other apps' data that holds
    or prints a My Number (番号法 安全管理措置)."""
    return vault.encrypt_bytes(data, keys=_keys(), associated=context)


def unseal(blob: bytes, *, context: str) -> bytes:
    """The bytes `seal` encrypted under the same context, with whichever listed key sealed them."""
    return vault.decrypt_bytes(bytes(blob), keys=_keys(), associated=context)


def sealed_under_current_key(blob: bytes) -> bool:
    return vault.is_current(bytes(blob), keys=_keys())


# Other apps' data sealed with the key ring register a re-sealing function here (procedures'
# certificates, …); `rotate_mynumber_keys` runs them after the residents' own rows.
KEY_ROTATION_HOOKS: list[Callable[..., int]] = []


def register_key_rotation(hook: Callable[..., int]) -> Callable[..., int]:
    if hook not in KEY_ROTATION_HOOKS:
        KEY_ROTATION_HOOKS.append(hook)
    return hook


def rotate_mynumber_keys(*, batch_size: int = 1000) -> int:
    """Re-encrypt and re-digest every My Number not yet under the first key. Returns the count.

    Works in batches, each its own transaction, so a crash loses at most one batch of work and a
    second run continues where the first stopped.
    """
    keys = _keys()
    first_kid = vault.key_id(keys[0])
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Resident.objects.select_for_update()
                .filter(pk__gt=last_pk, mynumber_ciphertext__isnull=False)
                .order_by("pk")
                .only("pk", "resident_code", "mynumber_ciphertext", "mynumber_digest")[:batch_size]
            )
            if not rows:
                return done
            changed = []
            for row in rows:
                blob = bytes(row.mynumber_ciphertext)
                if vault.ciphertext_key_id(blob) == first_kid:
                    continue
                number = vault.decrypt(blob, keys=keys, associated=row.resident_code)
                row.mynumber_ciphertext = vault.encrypt(
                    number, keys=keys, associated=row.resident_code
                )
                row.mynumber_digest = vault.digest(number, secret=keys[0])
                changed.append(row)
            Resident.objects.bulk_update(changed, ["mynumber_ciphertext", "mynumber_digest"])
            done += len(changed)
            last_pk = rows[-1].pk


# --- staff access -------------------------------------------------------------------------------


def record_resident_view(*, resident: Resident, actor, purpose: str, request=None) -> None:
    """Log a staff read of a resident's record with its purpose (DESIGN.md §4)."""
    if purpose not in ACCESS_PURPOSES:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    if not is_staff_member(actor):
        raise PermissionDenied
    audit.record(
        action="residents.resident_viewed",
        actor=actor,
        obj=resident,
        purpose=ACCESS_PURPOSES[purpose],
        request=request,
    )


def record_search(*, request, results: list[Resident]) -> None:
    """A staff search lists residents: one audit row for the search (page or API alike), naming
    the records it showed."""
    audit.record_read(
        request=request,
        action="residents.search",
        object_type="residents.Resident",
        purpose=gettext_noop("住民の検索"),
        details={"results": [r.pk for r in results][:100]},
    )


# --- portal link --------------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(
        settings.SECRET_KEY.encode(), f"activation:{canonical}".encode(), hashlib.sha256
    ).hexdigest()


@transaction.atomic
def issue_activation_code(
    *, resident: Resident, clerk, valid_days: int = ACTIVATION_CODE_DAYS
) -> tuple[ActivationCode, str]:
    """Make a one-time code for a resident's letter. The plain code is returned once only."""
    _require_staff(clerk)
    resident = _lock_resident(resident)
    if resident.status != Resident.Status.CURRENT:
        raise ValidationError({"resident": MSG_NOT_CURRENT})
    now = timezone.now()
    ActivationCode.objects.filter(
        resident=resident, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    raw = "".join(secrets.choice(ACTIVATION_CODE_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    activation = ActivationCode.objects.create(
        resident=resident,
        code_hash=_code_hash(code),
        issued_by=clerk,
        expires_at=now + timedelta(days=valid_days),
    )
    audit.record(
        action="residents.activation_code_issued",
        actor=clerk,
        obj=resident,
        details={"expires_at": activation.expires_at.isoformat()},
    )
    return activation, code


def link_failures(user) -> int:
    since = timezone.now() - timedelta(hours=LINK_LOCK_HOURS)
    last_success = (
        LinkAttempt.objects.filter(user=user, succeeded=True)
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)
        .first()
    )
    if last_success and last_success > since:
        since = last_success
    return LinkAttempt.objects.filter(user=user, succeeded=False, attempted_at__gt=since).count()


def link_is_locked(user) -> bool:
    return link_failures(user) >= LINK_MAX_FAILURES


def link_account(*, user, code: str, birth_date: date | None) -> Resident:
    """Link a portal account to its resident with the mailed code and the birth date.

    Five wrong tries within 24 hours lock the account out of linking; failed tries are recorded
    even though the call then raises.
    """
    from cityhall.models import User

    error: str | None = None
    error_code = "wrong"
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if Resident.objects.filter(user=user).exists():
            raise ValidationError(MSG_ALREADY_LINKED)
        failures = link_failures(user)
        if failures >= LINK_MAX_FAILURES:
            raise ValidationError(
                MSG_LINK_LOCKED.format(count=LINK_MAX_FAILURES, hours=LINK_LOCK_HOURS),
                code="locked",
            )
        activation = (
            ActivationCode.objects.select_for_update()
            .select_related("resident")
            .filter(
                code_hash=_code_hash(code or ""),
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .first()
        )
        resident = activation.resident if activation else None
        if (
            resident is None
            or birth_date is None
            or resident.birth_date != birth_date
            or resident.status != Resident.Status.CURRENT
            or resident.user_id is not None
        ):
            LinkAttempt.objects.create(user=user, succeeded=False)
            left = LINK_MAX_FAILURES - failures - 1
            if left <= 0:
                error_code = "locked"
                error = MSG_LINK_LOCKED.format(count=LINK_MAX_FAILURES, hours=LINK_LOCK_HOURS)
            else:
                error = MSG_LINK_WRONG.format(left=left)
        else:
            LinkAttempt.objects.create(user=user, succeeded=True)
            activation.used_at = timezone.now()
            activation.save(update_fields=["used_at"])
            resident.user = user
            resident.save(update_fields=["user"])
            audit.record(action="residents.account_linked", actor=user, obj=resident)
    if error is not None:
        raise ValidationError(error, code=error_code)
    return resident


# --- linking with a マイナンバーカード -------------------------------------------------------------

# The four basic facts as named in messages about a マイナンバーカード (pgettext context "card fact").
FACT_LABELS = {
    "name": pgettext_lazy("card fact", "氏名"),
    "address": pgettext_lazy("card fact", "住所"),
    "birth_date": pgettext_lazy("card fact", "生年月日"),
    "sex": pgettext_lazy("card fact", "性別"),
}


def link_account_by_card(
    *,
    user,
    name: str,
    address: str,
    birth_date: date | None,
    sex: str,
    provider: str,
    request=None,
) -> Resident:
    """Link a portal account to its resident with the four basic facts (基本4情報) a
    マイナンバーカード gave through the platform, instead of a mailed code.

    All four must agree with the register. When they do not (外字 written with a substitute
    character, an address change not yet notified, …) nothing is linked: the ValidationError
    (code "mismatch", params["fields"] the facts that differ) leads the resident to the counter.
    Refusals are audited as well as links.
    """
    from django.utils.translation import gettext, pgettext

    from cityhall.models import User

    mismatched: list[str] = []
    error: ValidationError | None = None
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if Resident.objects.filter(user=user, status=Resident.Status.CURRENT).exists():
            raise ValidationError(
                gettext("このアカウントはすでに住民情報と連携しています。"), code="linked"
            )
        candidates = selectors.residents_matching_card(
            name=name,
            address=address,
            birth_date=birth_date,
            sex=sex,
            city_name=settings.CITY_NAME,
        )
        exact = [resident for resident, differs in candidates if not differs]
        if len(exact) == 1 and exact[0].user_id is None:
            resident = _lock_resident(exact[0])
            resident.user = user
            resident.save(update_fields=["user"])
            audit.record(
                action="residents.account_linked",
                actor=user,
                obj=resident,
                request=request,
                details={"method": "mynumber_card", "provider": provider},
            )
            return resident
        if len(exact) == 1:
            error = ValidationError(
                gettext(
                    "この住民記録は別のアカウントと連携しています。市役所の窓口でご相談ください。"
                ),
                code="linked_elsewhere",
            )
            mismatched = []
        else:
            mismatched = candidates[0][1] if candidates else list(selectors.FOUR_FACTS)
            labels = pgettext("list separator", "、").join(str(FACT_LABELS[f]) for f in mismatched)
            error = ValidationError(
                gettext("マイナンバーカードの%(facts)sが住民記録と一致しませんでした。")
                % {"facts": labels},
                code="mismatch",
                params={"fields": mismatched},
            )
    audit.record(
        action="residents.card_link_refused",
        actor=user,
        object_type="cityhall.User",
        object_id=user.pk,
        request=request,
        details={"provider": provider, "mismatched": mismatched, "reason": error.code},
    )
    raise error


# --- addresses, for the GIS geocoder ------------------------------------------------------------


@transaction.atomic
def set_address_location(*, address_id: int, point: Point, parcel_key: str) -> Address:
    """Store the geocoded point (EPSG:6668) and parcel key of an address."""
    address = Address.objects.select_for_update().get(pk=address_id)
    if point.srid is None:
        point.srid = 6668
    elif point.srid != 6668:
        point = point.transform(6668, clone=True)
    address.location = point
    address.parcel_key = parcel_key
    address.save(update_fields=["location", "parcel_key"])
    return address


def bulk_set_address_locations(rows: Iterable[tuple[int, float, float, str]]) -> int:
    """Set many addresses' points in one statement per 5,000 rows: (address_id, lon, lat, parcel_key).

    lon/lat are JGD2011 (EPSG:6668). Returns the number of addresses updated.
    """
    from psycopg2.extras import execute_values

    sql = """
        UPDATE residents_address AS a
           SET location = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 6668),
               parcel_key = v.parcel_key
          FROM (VALUES %s) AS v(id, lon, lat, parcel_key)
         WHERE a.id = v.id
    """
    batch: list[tuple[int, float, float, str]] = []
    updated = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            batch.append((int(row[0]), float(row[1]), float(row[2]), str(row[3] or "")))
            if len(batch) >= 5000:
                updated += _update_batch(cursor, execute_values, sql, batch)
                batch = []
        if batch:
            updated += _update_batch(cursor, execute_values, sql, batch)
    return updated


def _update_batch(cursor, execute_values, sql: str, batch: list) -> int:
    raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
    execute_values(
        raw,
        sql,
        batch,
        template="(%s::bigint, %s::double precision, %s::double precision, %s::text)",
        page_size=len(batch),
    )
    return raw.rowcount
