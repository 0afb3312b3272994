"""Facility reservations API (DRF, described in the OpenAPI schema). Thin: every change goes
through the services, and every staff read of users' names writes an audit row, as the pages do.

One module per audience, with the same public names here (facilities/api_urls.py routes them):

- ``public``: facilities and lottery rounds, no sign-in;
- ``availability``: the availability answer, routed ahead of the pages in cityhall/urls.py;
- ``mine``: a signed-in user's registrations, bookings, entries and weekly use;
- ``staff``: the staff's calendar, decisions, blocks, check-in, draw, usage and refunds;
- ``common``: refusals as responses, date parameters.
"""

from .availability import (
    AvailabilitySlotSerializer,
    AvailabilityUnitSerializer,
    availability,
)
from .common import (
    MAX_DAYS,
)
from .mine import (
    BOOKING_ACTIONS,
    BookingInSerializer,
    BookingSerializer,
    EntryInSerializer,
    EntrySerializer,
    MemberInSerializer,
    RegistrationInSerializer,
    RegistrationSerializer,
    SeriesInSerializer,
    SeriesSerializer,
    enter,
    my_booking,
    my_booking_action,
    my_bookings,
    my_entries,
    my_registrations,
    my_series,
)
from .public import (
    EquipmentSerializer,
    FacilityDetailSerializer,
    FacilitySerializer,
    HoursSerializer,
    PeriodSerializer,
    RoundSerializer,
    UnitSerializer,
    facility_detail,
    facility_list,
    round_detail,
    round_list,
)
from .staff import (
    STAFF_BOOKING_ACTIONS,
    RefundSerializer,
    StaffRegistrationSerializer,
    StaffRoundSerializer,
    UsageRowSerializer,
    WeekCellSerializer,
    staff_block,
    staff_booking_action,
    staff_checkin,
    staff_decide,
    staff_refund_action,
    staff_refunds,
    staff_registrations,
    staff_round,
    staff_round_action,
    staff_usage,
    staff_week,
)

__all__ = [
    "AvailabilitySlotSerializer",
    "AvailabilityUnitSerializer",
    "BOOKING_ACTIONS",
    "BookingInSerializer",
    "BookingSerializer",
    "EntryInSerializer",
    "EntrySerializer",
    "EquipmentSerializer",
    "FacilityDetailSerializer",
    "FacilitySerializer",
    "HoursSerializer",
    "MAX_DAYS",
    "MemberInSerializer",
    "PeriodSerializer",
    "RefundSerializer",
    "RegistrationInSerializer",
    "RegistrationSerializer",
    "RoundSerializer",
    "STAFF_BOOKING_ACTIONS",
    "SeriesInSerializer",
    "SeriesSerializer",
    "StaffRegistrationSerializer",
    "StaffRoundSerializer",
    "UnitSerializer",
    "UsageRowSerializer",
    "WeekCellSerializer",
    "availability",
    "enter",
    "facility_detail",
    "facility_list",
    "my_booking",
    "my_booking_action",
    "my_bookings",
    "my_entries",
    "my_registrations",
    "my_series",
    "round_detail",
    "round_list",
    "staff_block",
    "staff_booking_action",
    "staff_checkin",
    "staff_decide",
    "staff_refund_action",
    "staff_refunds",
    "staff_registrations",
    "staff_round",
    "staff_round_action",
    "staff_usage",
    "staff_week",
]
