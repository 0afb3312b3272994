"""Residents whose register record carries given four basic facts, and a JPKI procedure."""

from __future__ import annotations

import itertools
from datetime import date

from factories_procedures import RESIDENCE_FORM, make_procedure

from cityhall.japanese import normalize_name, parse_address, search_key
from procedures.models import IdentityLevel, Procedure
from residents.models import Address, Household, Resident

_seq = itertools.count(1)


def address_row(in_city: str) -> Address:
    parts = parse_address(in_city)
    candidate = Address(
        town=parts["town"],
        chome=parts["chome"],
        banchi=parts["banchi"],
        go=parts["go"] or "",
        building=parts["building"],
    )
    address, _ = Address.objects.get_or_create(
        normalized=candidate.label,
        defaults={f: getattr(candidate, f) for f in ("town", "chome", "banchi", "go", "building")},
    )
    return address


def register_resident(
    *,
    name: str,
    address: str,
    birth_date: date,
    sex: str,
    user=None,
    kana: str = "ヤマダ ハナコ",
) -> Resident:
    """A current resident, head of a new household at `address` (the part inside the city)."""
    n = next(_seq)
    family, given = name.split(" ")
    family_kana, given_kana = kana.split(" ")
    household = Household.objects.create(
        number=f"8{n:08d}",
        address=address_row(address),
        address_since=date(2020, 4, 1),
        formed_on=date(2020, 4, 1),
    )
    return Resident.objects.create(
        resident_code=f"7{n:010d}",
        family_name=family,
        given_name=given,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        birth_date=birth_date,
        sex=sex,
        household=household,
        relationship="世帯主",
        is_head=True,
        became_resident_on=date(2020, 4, 1),
        user=user,
        search_name=normalize_name(f"{family} {given}"),
        search_kana=search_key(f"{family_kana} {given_kana}"),
    )


def jpki_procedure(*, slug: str = "juminhyo", fee_yen: int | None = None) -> Procedure:
    procedure = make_procedure(
        slug=slug,
        name_ja="住民票の写しの交付請求",
        certificate_kind="residence",
        fee_yen=fee_yen,
        definition=RESIDENCE_FORM,
    )
    procedure.identity_level = IdentityLevel.JPKI
    procedure.save(update_fields=["identity_level"])
    return procedure


def read_card(page, card: str) -> None:
    """What the resident does in the platform's app: read the card (here: name it) and agree."""
    page.wait_for_selector("input[name=card]")
    page.fill("input[name=card]", card)
    page.fill("input[name=pin]", "1234")
    page.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
