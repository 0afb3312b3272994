"""Linking a portal account to its resident: with the code mailed on paper, or with the four basic
facts a マイナンバーカード gives."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from cityhall import audit
from cityhall.roles import person_or_none

from .. import selectors
from ..models import ActivationCode, LinkAttempt, Resident
from .common import MSG_NOT_CURRENT, _lock_resident, _require

# A code links an account to the record, so issuing one is a change of the record.
ACTIVATION_PERMISSION = "residents.change_resident"
ACTIVATION_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
ACTIVATION_CODE_DAYS = 30
LINK_MAX_FAILURES = 5
LINK_LOCK_HOURS = 24

MSG_LINK_LOCKED = gettext_lazy(
    "入力の誤りが{count}回続いたため、利用者登録を一時停止しています。{hours}時間後にもう一度お試しいただくか、市役所の窓口にお問い合わせください。"
)
MSG_LINK_WRONG = gettext_lazy("登録コードまたは生年月日が正しくありません（あと{left}回まで）。")
MSG_ALREADY_LINKED = gettext_lazy("このアカウントはすでに住民情報と連携しています。")


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
    _require(clerk, ACTIVATION_PERMISSION)
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
        issued_by=person_or_none(clerk),
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
