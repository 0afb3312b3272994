"""What every use case of facilities shares: the rules in force, numbers from sequences,
booking events, and reading which constraint PostgreSQL refused."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall.roles import is_staff_member

from ..models import Booking, BookingEvent
from ..rules import Rules
from ..selectors import availability_changed


def rules() -> Rules:
    """The city's rules: the defaults overridden by settings.FACILITY_RULES."""
    return Rules.from_mapping(getattr(settings, "FACILITY_RULES", {}))


def now() -> datetime:
    return timezone.now()


def today() -> date:
    return timezone.localdate()


def next_number(sequence: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [sequence])
        return cursor.fetchone()[0]


def constraint_of(error: IntegrityError) -> str:
    """The name of the constraint PostgreSQL refused (psycopg2 passes it on), or ''."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


def require_perm(user, permission: str) -> None:
    if (
        user is None
        or not user.is_authenticated
        or not is_staff_member(user)
        or not user.has_perm(permission)
    ):
        raise PermissionDenied(_("この操作をする権限がありません。"))


def move(booking: Booking, to_state: str, *, actor=None, reason: str = "", fields=()) -> None:
    """Change a booking's state by the allowed transitions, with its event row."""
    if to_state not in Booking.TRANSITIONS[booking.state]:
        raise ValueError(f"booking {booking.pk}: {booking.state} -> {to_state} is not allowed")
    from_state = booking.state
    booking.state = to_state
    booking.save(update_fields=["state", *fields])
    availability_changed()
    BookingEvent.objects.create(
        booking=booking,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason[:200],
    )


def created(booking: Booking, *, actor=None, reason: str = "") -> None:
    availability_changed()
    BookingEvent.objects.create(
        booking=booking,
        from_state="",
        to_state=booking.state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason[:200],
    )
