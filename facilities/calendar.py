"""My bookings as iCalendar (RFC 5545), written with the maintained ``icalendar`` library."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Booking


def bookings_calendar(bookings: Iterable[Booking], *, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Machiba//Facility bookings//JA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Tokyo")
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "machiba"
    for booking in bookings:
        unit = booking.unit
        event = Event()
        event.add("uid", f"facility-booking-{booking.reference}@{host}")
        event.add("dtstamp", booking.created_at)
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at)
        event.add("summary", f"{unit.facility.name} {unit.name}")
        event.add("location", unit.facility.address)
        lines = [
            _("予約番号 %(reference)s") % {"reference": booking.reference},
            str(booking.get_state_display()),
        ]
        if booking.purpose:
            lines.append(booking.purpose)
        event.add("description", "\n".join(lines))
        event.add("status", "CONFIRMED" if booking.state != "won" else "TENTATIVE")
        calendar.add_component(event)
    return calendar.to_ical()
