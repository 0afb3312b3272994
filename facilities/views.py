"""Resident pages of facility reservations."""

from __future__ import annotations

from django.utils import timezone

from . import selectors
from .models import Booking


def dashboard_panel(user) -> dict | None:
    """ "My facility bookings" on /my/: coming bookings and wins waiting for confirmation."""
    if not selectors.registrations_of(user).exists():
        return None
    coming = list(
        selectors.bookings_of(user)
        .filter(
            state__in=("held", "won", "confirmed", "reserved", "paid"),
            during__startswith__gte=timezone.now(),
        )
        .order_by("during")[:3]
    )
    return {
        "coming": coming,
        "to_confirm": sum(1 for b in coming if b.state == Booking.State.WON),
    }
