"""Writing the audit log. Every staff read of a resident's record and every sensitive act
(revealing a My Number, approving a case, refunding money) goes through `record`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import AuditEvent
from .network import client_ip


def record(
    *,
    action: str,
    actor=None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    purpose: str = "",
    request: HttpRequest | None = None,
    details: dict | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or obj.pk
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        purpose=purpose,
        ip_address=client_ip(request),
        details=details or {},
    )


def record_read(
    *,
    request: HttpRequest,
    action: str,
    purpose: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict | None = None,
) -> AuditEvent | None:
    """One audit row for one staff read of personal data, from a page or the API alike.

    DESIGN.md §4: read access to a resident's data by staff is logged with its purpose; this is
    the single helper the HTML views and the DRF views call, so both doors write the same row
    (actor, purpose, the client's address behind trusted proxies). A resident reading their own
    data is not a staff read and writes nothing. `request` may be Django's or DRF's.
    """
    from .roles import is_staff_member

    user = getattr(request, "user", None)
    if user is None or not is_staff_member(user):
        return None
    return record(
        action=action,
        actor=user,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        request=request,
        details=details,
    )
