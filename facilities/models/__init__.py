"""The tables of facility reservations; see each module."""

from .bookings import (
    ACTIVE_STATES,
    Booking,
    BookingEquipment,
    BookingEvent,
    CancellationRefund,
    RejectedOccurrence,
    Series,
)
from .lottery import Choice, Entry, LotteryRound, RoundSlot
from .people import Member, PenaltyPoint, Registration
from .places import Closure, Equipment, Facility, OpeningHours, Period, Photo, Unit

__all__ = [
    "ACTIVE_STATES",
    "Booking",
    "BookingEquipment",
    "BookingEvent",
    "CancellationRefund",
    "Choice",
    "Closure",
    "Entry",
    "Equipment",
    "Facility",
    "LotteryRound",
    "Member",
    "OpeningHours",
    "PenaltyPoint",
    "Period",
    "Photo",
    "Registration",
    "RejectedOccurrence",
    "RoundSlot",
    "Series",
    "Unit",
]
