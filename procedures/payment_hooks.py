"""What procedures does when payments settles a fee charge it asked for."""

from __future__ import annotations

from payments.hooks import on_settled

from . import services


@on_settled("procedures.application:")
def application_fee_settled(origin: str, charge_id: int) -> None:
    services.fee_settled(origin=origin, charge_id=charge_id)
