"""What facilities does when payments settles a fee charge it asked for."""

from __future__ import annotations

from payments.hooks import on_settled

from .services import bookings


@on_settled("facilities.")
def facility_fee_settled(origin: str, charge_id: int) -> None:
    bookings.fee_settled(origin=origin, charge_id=charge_id)
