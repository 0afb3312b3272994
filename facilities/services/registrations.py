"""User registrations (利用者登録): individuals, groups (団体登録) and temporary users.

- An individual linked to a current resident record is approved at once: the link already
  proved who they are. Anyone else with an account (people living elsewhere) waits for a
  clerk, who sees their ID at the counter.
- A group names a representative and its members. It needs the rules' minimum number of
  members; when the members living, working or studying in the city reach the rules' share it
  is a 市内団体 (city group, the group rate and the better lottery tier), otherwise a 市外団体.
  A clerk approves it; the registration is valid for ``registration_years``.
- One person represents at most one individual registration and two groups (unique index and
  trigger), and a group sharing ``duplicate_group_shared_members`` members with another
  registered group is refused as a duplicate (the same group registering twice to win more
  lots, which cities' rules forbid: 「同一団体の重複登録はできません」).
- Temporary users (一時利用者) are registered at once and may book first-come slots only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from cityhall import audit
from cityhall.japanese import normalize_kana_name, normalize_name
from residents.selectors import resident_for_user

from ..models import Member, Registration
from .common import constraint_of, next_number, now, require_perm, rules, today

PREFIX = {"individual": "P", "group": "G", "temporary": "T"}


@dataclass(frozen=True)
class MemberRow:
    name: str
    name_kana: str
    relation: str


def member_key(name: str, name_kana: str) -> str:
    return (
        f"{normalize_name(name).replace(' ', '')}|{normalize_kana_name(name_kana).replace(' ', '')}"
    )


def _valid_until(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _kana(value: str, field: str) -> str:
    try:
        return normalize_kana_name(value)
    except ValueError:
        raise _error(field, _("フリガナはカタカナかひらがなで入力してください。")) from None


def _error(field: str, message: str):
    from django.core.exceptions import ValidationError

    return ValidationError({field: message})


def _create(**fields) -> Registration:
    kind = fields["kind"]
    number = f"{PREFIX[kind]}{next_number('facilities_registration_number_seq'):06d}"
    try:
        with transaction.atomic():
            return Registration.objects.create(number=number, **fields)
    except IntegrityError as error:
        name = constraint_of(error)
        if name == "one_individual_registration_per_person":
            raise _error("kind", _("個人の利用者登録はすでにあります（1人1件まで）。")) from None
        if name == "one_temporary_registration_per_person":
            raise _error("kind", _("一時利用者の登録はすでにあります。")) from None
        if name == "at_most_two_groups_per_representative":
            raise _error(
                "kind", _("団体の代表者になれるのは2団体までです。すでに2団体の代表者です。")
            ) from None
        raise


def register_individual(
    *, user, name: str = "", name_kana: str = "", phone: str = ""
) -> Registration:
    """個人登録. A linked resident is registered under the record's name and approved at once."""
    resident = resident_for_user(user, fresh=True)
    if resident is not None:
        start = today()
        return _create(
            kind=Registration.Kind.INDIVIDUAL,
            state=Registration.State.APPROVED,
            representative=user,
            name=resident.full_name,
            name_kana=resident.full_name_kana,
            phone=phone,
            in_city=True,
            decided_at=now(),
            valid_until=_valid_until(start, rules().registration_years),
        )
    if not name.strip():
        raise _error("name", _("氏名を入力してください。"))
    return _create(
        kind=Registration.Kind.INDIVIDUAL,
        state=Registration.State.PENDING,
        representative=user,
        name=normalize_name(name),
        name_kana=_kana(name_kana, "name_kana"),
        phone=phone,
    )


def register_temporary(*, user, name: str, name_kana: str, phone: str = "") -> Registration:
    """一時利用者: first-come bookings only, no lottery; registered at once for one year."""
    if not name.strip():
        raise _error("name", _("氏名を入力してください。"))
    resident = resident_for_user(user, fresh=True)
    return _create(
        kind=Registration.Kind.TEMPORARY,
        state=Registration.State.APPROVED,
        representative=user,
        name=normalize_name(name),
        name_kana=_kana(name_kana, "name_kana"),
        phone=phone,
        in_city=resident is not None,
        decided_at=now(),
        valid_until=_valid_until(today(), 1),
    )


def _check_members(members: list[MemberRow]) -> list[tuple[MemberRow, str]]:
    city_rules = rules()
    keyed = []
    for index, row in enumerate(members, start=1):
        if not row.name.strip():
            raise _error("members", _("%(n)s人目の氏名を入力してください。") % {"n": index})
        if row.relation not in Member.Relation.values:
            raise _error("members", _("%(n)s人目の市との関係を選んでください。") % {"n": index})
        try:
            keyed.append((row, member_key(row.name, row.name_kana)))
        except ValueError:
            raise _error(
                "members",
                _("%(n)s人目のフリガナはカタカナかひらがなで入力してください。") % {"n": index},
            ) from None
    if len({key for _row, key in keyed}) != len(keyed):
        raise _error("members", _("同じ人が名簿に2回書かれています。"))
    if len(keyed) < city_rules.group_min_members:
        raise _error(
            "members",
            _("団体の構成員は%(min)s人以上必要です（いま%(n)s人）。")
            % {"min": city_rules.group_min_members, "n": len(keyed)},
        )
    return keyed


def _duplicate_of(keys: list[str], *, exclude: int | None = None) -> bool:
    """Whether another pending or approved group shares the rules' number of these members."""
    shared = (
        Member.objects.filter(
            key__in=keys,
            registration__kind=Registration.Kind.GROUP,
            registration__state__in=(Registration.State.PENDING, Registration.State.APPROVED),
        )
        .exclude(registration_id=exclude)
        .values("registration_id")
        .annotate(n=Count("id"))
        .filter(n__gte=rules().duplicate_group_shared_members)
    )
    return shared.exists()


def city_share_met(members: list[Member] | list[MemberRow]) -> bool:
    in_city = sum(1 for m in members if m.relation != Member.Relation.OUTSIDE)
    return in_city * 100 >= rules().group_min_city_share_percent * len(members)


def apply_group(
    *,
    user,
    name: str,
    name_kana: str,
    members: list[MemberRow],
    phone: str = "",
    activity: str = "",
) -> Registration:
    """団体登録の申請: waits for a clerk's approval."""
    if not name.strip():
        raise _error("name", _("団体名を入力してください。"))
    kana = _kana(name_kana, "name_kana")
    keyed = _check_members(members)
    with transaction.atomic():
        if _duplicate_of([key for _row, key in keyed]):
            raise _error(
                "members",
                _(
                    "構成員のうち%(n)s人以上が、登録済みまたは審査中の別の団体と同じです。"
                    "同じ団体を重ねて登録することはできません。"
                )
                % {"n": rules().duplicate_group_shared_members},
            )
        registration = _create(
            kind=Registration.Kind.GROUP,
            state=Registration.State.PENDING,
            representative=user,
            name=normalize_name(name),
            name_kana=kana,
            phone=phone,
            activity=activity,
            in_city=city_share_met(members),
        )
        Member.objects.bulk_create(
            Member(
                registration=registration,
                name=normalize_name(row.name),
                name_kana=normalize_kana_name(row.name_kana),
                relation=row.relation,
                key=key,
            )
            for row, key in keyed
        )
    return registration


def decide(*, registration: Registration, approve: bool, clerk, reason: str = "") -> Registration:
    """A clerk approves (valid for ``registration_years``) or rejects (with the reason)."""
    require_perm(clerk, "facilities.approve_registration")
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.state != Registration.State.PENDING:
            raise _error("state", _("この登録は審査中ではありません。"))
        if approve:
            if registration.kind == Registration.Kind.GROUP:
                members = list(registration.members.all())
                if _duplicate_of([m.key for m in members], exclude=registration.pk):
                    raise _error(
                        "state",
                        _("構成員の多くが別の団体と同じため、承認できません（重複登録）。"),
                    )
                registration.in_city = city_share_met(members)
            registration.state = Registration.State.APPROVED
            registration.valid_until = _valid_until(today(), rules().registration_years)
        else:
            if not reason.strip():
                raise _error("reason", _("不承認の理由を入力してください。"))
            registration.state = Registration.State.REJECTED
            registration.rejection_reason = reason.strip()
        registration.decided_at = now()
        registration.decided_by = clerk
        registration.save(
            update_fields=[
                "state",
                "in_city",
                "valid_until",
                "rejection_reason",
                "decided_at",
                "decided_by",
            ]
        )
        audit.record(
            action="facilities.registration_approved"
            if approve
            else "facilities.registration_rejected",
            actor=clerk,
            obj=registration,
            details={"reason": reason},
        )
    return registration


def withdraw(*, registration: Registration, user) -> Registration:
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.representative_id != user.pk:
            raise _error("state", _("この登録を取り下げることはできません。"))
        if registration.state not in (Registration.State.PENDING, Registration.State.APPROVED):
            return registration
        registration.state = Registration.State.WITHDRAWN
        registration.save(update_fields=["state"])
    return registration


def expire_registrations(*, on: date | None = None) -> int:
    """Beat: approved registrations past their validity become expired (re-register to book)."""
    on = on or today()
    return Registration.objects.filter(
        state=Registration.State.APPROVED, valid_until__lt=on
    ).update(state=Registration.State.EXPIRED)
