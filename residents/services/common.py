"""What every residents service shares: the actor check, today's date, the messages, the row
locks and the My Number key ring."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cityhall.roles import require_permission

from ..models import Household, Resident

HEAD_RELATIONSHIP = "世帯主"

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


def _keys() -> list[str]:
    return list(settings.MYNUMBER_KEYS)


def _require(actor, permission: str) -> None:
    """Refuse an actor without the named permission. Batch and system work passes
    `cityhall.roles.SYSTEM`; None (a forgotten actor) is refused like anyone without it."""
    require_permission(actor, permission)


def _today() -> date:
    return timezone.localdate()


def _not_future(field: str, value: date, *, allow_days: int = 0) -> None:
    if value > _today() + timedelta(days=allow_days):
        raise ValidationError({field: MSG_FUTURE})


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
