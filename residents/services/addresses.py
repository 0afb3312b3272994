"""Addresses typed at the counter, turned into the city's Address rows."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from cityhall.japanese import parse_address

from ..models import Address


def address_from_text(text: str, *, postal_code: str = "") -> Address:
    """The Address row for a typed address in this city, created when new."""
    try:
        parts = parse_address(text)
    except ValueError as exc:
        raise ValidationError({"address": str(exc)}) from exc
    candidate = Address(
        town=parts["town"],
        chome=parts["chome"],
        banchi=parts["banchi"],
        go=parts["go"] or "",
        building=parts["building"],
        postal_code=postal_code,
    )
    candidate.normalized = candidate.label
    address, _created = Address.objects.get_or_create(
        normalized=candidate.normalized,
        defaults={
            f: getattr(candidate, f)
            for f in ("town", "chome", "banchi", "go", "building", "postal_code")
        },
    )
    return address
