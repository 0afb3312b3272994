"""Staff reads of the register, each written to the audit log with its purpose (DESIGN.md §4)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_noop

from cityhall import audit

from ..models import Resident
from .common import MSG_PURPOSE_REQUIRED, _require

VIEW_PERMISSION = "residents.view_resident"
# Stored in the audit log in Japanese; marked so the English labels are in the catalogue.
ACCESS_PURPOSES: dict[str, str] = {
    "counter": gettext_noop("窓口対応"),
    "review": gettext_noop("申請審査"),
    "billing": gettext_noop("税・料金"),
    "other": gettext_noop("その他"),
}


def record_resident_view(*, resident: Resident, actor, purpose: str, request=None) -> None:
    """Log a staff read of a resident's record with its purpose (DESIGN.md §4)."""
    if purpose not in ACCESS_PURPOSES:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    _require(actor, VIEW_PERMISSION)
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
