"""Reads of the resident records that other apps may use."""

from __future__ import annotations

from .models import Resident


def resident_for_user(user) -> Resident | None:
    """The resident record linked to a portal account, or None."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Resident.objects.select_related("household__address")
        .filter(user=user, status=Resident.Status.CURRENT)
        .first()
    )


def household_members(resident: Resident) -> list[Resident]:
    """Current members of the resident's household, head first."""
    if resident.household_id is None:
        return [resident]
    return list(
        Resident.objects.filter(
            household_id=resident.household_id, status=Resident.Status.CURRENT
        ).order_by("-is_head", "birth_date", "id")
    )
