"""Reads of the resident records that other apps may use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from cityhall.japanese import normalize_address, normalize_name, parse_address, search_key

from .models import SHORT_GRAMS, Address, Household, Movement, ResidencePeriod, Resident

_RESIDENT_CODE = re.compile(r"[0-9]{11}")
_ADDRESS_SEPARATORS = re.compile(r"[丁目番地号の\- ]+")


def address_pattern(text: str) -> str:
    """A PostgreSQL regular expression matching a typed (partial) address against
    Address.normalized: 本町2-4, 本町2丁目4番 and 本町二丁目四番 all find 本町2丁目4番6号."""
    parts = re.split(r"([0-9]+)", normalize_address(text).strip())
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"(?<![0-9]){part}(?![0-9])")
        elif part and _ADDRESS_SEPARATORS.fullmatch(part) and 0 < index < len(parts) - 1:
            out.append("[丁目番地号の -]+")
        elif part:
            out.append(re.escape(part))
    return "".join(out)


_RESIDENT_MEMO = "_machiba_resident_memo"


def resident_for_user(user, *, fresh: bool = False) -> Resident | None:
    """The resident record linked to a portal account, or None.

    Every panel of the /my/ dashboard asks this for the same request.user, so the answer is
    remembered on that user object (which lives for one request); `fresh=True` asks again.
    """
    if user is None or not user.is_authenticated:
        return None
    if not fresh and hasattr(user, _RESIDENT_MEMO):
        return getattr(user, _RESIDENT_MEMO)
    resident = (
        Resident.objects.select_related("household__address")
        .filter(user=user, status=Resident.Status.CURRENT)
        .first()
    )
    setattr(user, _RESIDENT_MEMO, resident)
    return resident


def household_members(resident: Resident) -> list[Resident]:
    """Current members of the resident's household, head first."""
    if resident.household_id is None:
        return [resident]
    return list(
        Resident.objects.filter(
            household_id=resident.household_id, status=Resident.Status.CURRENT
        ).order_by("-is_head", "birth_date", "id")
    )


def get_resident(pk) -> Resident | None:
    """One resident (any status) with household and address loaded, or None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Resident.objects.select_related("household__address").filter(pk=pk).first()


def search_residents(
    query: str,
    *,
    birth_date: date | None = None,
    limit: int = 50,
    address: str = "",
    include_former: bool = False,
) -> list[Resident]:
    """Residents whose name (kanji or kana, partial; half-width, hiragana and katakana alike),
    resident code or address matches, optionally with a birth date. Current residents only
    unless include_former. Each word of the query must match the name or the reading."""
    qs = Resident.objects.select_related("household__address")
    if not include_former:
        qs = qs.filter(status=Resident.Status.CURRENT)
    query = (query or "").strip()
    filtered = False
    if query:
        words = normalize_name(query).split(" ")
        if len(words) == 1 and _RESIDENT_CODE.fullmatch(words[0]):
            qs = qs.filter(resident_code=words[0])
        else:
            for word in words:
                if len(word) <= 2:
                    # No trigram in a word this short: the pieces index answers it instead.
                    qs = qs.alias(short_grams=SHORT_GRAMS).filter(
                        short_grams__overlap=[word, search_key(word)]
                    )
                else:
                    qs = qs.filter(
                        Q(search_name__contains=word) | Q(search_kana__contains=search_key(word))
                    )
        filtered = True
    if birth_date is not None:
        qs = qs.filter(birth_date=birth_date)
        filtered = True
    if address.strip():
        qs = qs.filter(household__address__normalized__regex=address_pattern(address))
        filtered = True
    if not filtered:
        return []
    return list(qs.order_by("search_kana", "birth_date", "id")[:limit])


def movement_history(resident: Resident) -> QuerySet[Movement]:
    """Every movement of a resident, oldest first."""
    return (
        Movement.objects.filter(resident=resident)
        .select_related("household", "clerk")
        .order_by("effective_on", "created_at", "id")
    )


def addresses_without_location() -> QuerySet[Address]:
    """Addresses the GIS geocoder has not placed yet."""
    return Address.objects.filter(location__isnull=True).order_by("id")


def residents_at_parcel(parcel_key: str) -> QuerySet[Resident]:
    """Current residents whose household's address lies on the parcel (筆)."""
    return (
        Resident.objects.select_related("household__address")
        .filter(status=Resident.Status.CURRENT, household__address__parcel_key=parcel_key)
        .order_by("household_id", "-is_head", "birth_date", "id")
    )


def household_members_on(household: Household, on: date) -> list[Resident]:
    """Who lived in the household on a date, head first. Each resident carries `.period`
    (the ResidencePeriod of that date: relationship, head flag and address then)."""
    periods = (
        ResidencePeriod.objects.filter(household=household, valid__contains=on)
        .select_related("resident", "address")
        .order_by("-is_head", "resident__birth_date", "resident_id")
    )
    members = []
    for period in periods:
        resident = period.resident
        resident.period = period
        members.append(resident)
    return members


@dataclass(frozen=True)
class ResidentAsOf:
    """A resident's record as it stood on a date."""

    resident: Resident
    on: date
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: str
    household: Household
    address: Address
    relationship: str
    is_head: bool

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"


_AS_OF_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
)


def resident_as_of(resident: Resident, on: date) -> ResidentAsOf | None:
    """The record on a date, or None if the person was not a resident then.

    Names and other corrected fields are rolled back through later corrections' previous values.
    """
    period = (
        ResidencePeriod.objects.filter(resident=resident, valid__contains=on)
        .select_related("household", "address")
        .first()
    )
    if period is None:
        return None
    values = {f: getattr(resident, f) for f in _AS_OF_FIELDS}
    later = Movement.objects.filter(
        resident=resident, kind=Movement.Kind.CORRECTION, effective_on__gt=on
    ).order_by("-effective_on", "-id")
    for correction in later:
        for field, old in correction.previous.items():
            if field in values:
                values[field] = date.fromisoformat(old) if field == "birth_date" else old
    return ResidentAsOf(
        resident=resident,
        on=on,
        household=period.household,
        address=period.address,
        relationship=period.relationship,
        is_head=period.is_head,
        **values,
    )


def residents_on(day: date) -> QuerySet[Resident]:
    """Everyone whose record placed them in the city on a date, whatever happened since (the
    resident tax is levied by the city of the address on 1 January: 地方税法294条1項・318条)."""
    return Resident.objects.filter(periods__valid__contains=day)


# --- 基本4情報 from a マイナンバーカード ----------------------------------------------------------

FOUR_FACTS = ("name", "address", "birth_date", "sex")


def _same_name(register: Resident, card_name: str) -> bool:
    # The card may write the name with or without a space between family and given name.
    def plain(s: str) -> str:
        return normalize_name(s).replace(" ", "")

    return plain(f"{register.family_name}{register.given_name}") == plain(card_name)


def _same_address(register: Address | None, card_address: str, *, city_name: str) -> bool:
    """The card writes the full address (prefecture, city, town …); the register keeps the part
    inside the city. Town, 丁目, 番地 and 号 must agree; the building (方書) may be written
    differently and is not compared."""
    if register is None:
        return False
    text = normalize_address(card_address).replace(" ", "")
    city = normalize_name(city_name).replace(" ", "")
    if city:
        at = text.find(city)
        if at < 0:
            return False
        text = text[at + len(city) :]
    try:
        card = parse_address(text)
    except ValueError:
        return False
    return (
        normalize_name(card["town"]) == normalize_name(register.town)
        and card["chome"] == register.chome
        and card["banchi"] == register.banchi
        and (card["go"] or "") == (register.go or "")
    )


def four_fact_mismatches(
    resident: Resident,
    *,
    name: str,
    address: str,
    birth_date: date | None,
    sex: str,
    city_name: str,
) -> list[str]:
    """Which of the four basic facts (基本4情報) given by a マイナンバーカード differ from the
    register: a sublist of FOUR_FACTS, empty when all four agree."""
    household = resident.household
    mismatches = []
    if not _same_name(resident, name):
        mismatches.append("name")
    if not _same_address(household.address if household else None, address, city_name=city_name):
        mismatches.append("address")
    if birth_date is None or resident.birth_date != birth_date:
        mismatches.append("birth_date")
    if resident.sex != sex:
        mismatches.append("sex")
    return mismatches


def residents_matching_card(
    *, name: str, address: str, birth_date: date | None, sex: str, city_name: str
) -> list[tuple[Resident, list[str]]]:
    """Current residents born on that date, each with the facts that differ, best first.

    A card's birth date is the one fact a resident cannot have written differently, so it picks
    the candidates; the others say why a near match does not link (外字 in the name, an old
    address, …).
    """
    if birth_date is None:
        return []
    candidates = Resident.objects.select_related("household__address").filter(
        status=Resident.Status.CURRENT, birth_date=birth_date
    )
    scored = [
        (
            resident,
            four_fact_mismatches(
                resident,
                name=name,
                address=address,
                birth_date=birth_date,
                sex=sex,
                city_name=city_name,
            ),
        )
        for resident in candidates
    ]
    return sorted(scored, key=lambda pair: (len(pair[1]), pair[0].pk))


def periods_on(on: date) -> QuerySet[ResidencePeriod]:
    """Residence periods live on a date: one row per person who lived in the city that day
    (periods of one resident never overlap), with resident and address at hand to filter on.
    Other apps build their selections of residents (e.g. notices' segments) on this."""
    return ResidencePeriod.objects.filter(valid__contains=on)


def towns_with_chome(on: date) -> list[tuple[str, int | None]]:
    """Every (町, 丁目) of the addresses people lived at on a date, in order."""
    return list(
        Address.objects.filter(periods__valid__contains=on)
        .values_list("town", "chome")
        .distinct()
        .order_by("town", "chome")
    )


# Metres per degree of latitude; the degree box lets the GiST index pick candidates first.
_METRES_PER_DEGREE = 111_320.0


def addresses_near(lon: float, lat: float, metres: float) -> QuerySet[Address]:
    """Addresses placed within `metres` of a point (great-circle distance, PostGIS
    ST_DistanceSphere), found through the spatial index by a degree box around the point."""
    import math

    from django.contrib.gis.db.models.functions import Distance
    from django.contrib.gis.geos import Point

    at = Point(float(lon), float(lat), srid=6668)
    lat_margin = metres / _METRES_PER_DEGREE
    lon_margin = lat_margin / max(math.cos(math.radians(at.y)), 0.01)
    return (
        Address.objects.filter(location__dwithin=(at, max(lat_margin, lon_margin)))
        .annotate(distance=Distance("location", at))
        .filter(distance__lte=metres)
    )
