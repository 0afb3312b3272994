"""Address keys: how an address in this city names the point and parcel (筆) it stands on.

An address 「本町3丁目12番4号」 (住居表示: town, chome, block 番, lot 号) has the key
"本町3丁目12番4号"; the parcel under it has the parcel key "本町3丁目12番4" (地番, written
without 号). A building name or room number never changes the key. No ORM here.
"""

from __future__ import annotations

from cityhall.japanese import parse_address


def address_key(town: str, chome: int | None, banchi: str, go: str | None) -> str:
    """The AddressPoint key of an address's parts; "" when there is no 号 to place."""
    if not town or not banchi or not go:
        return ""
    chome_part = f"{chome}丁目" if chome else ""
    return f"{town}{chome_part}{banchi}番{go}号"


def address_key_from_text(text: str) -> str:
    """The key of a typed address (本町3-12-4, 本町三丁目12番4号 メゾン201 …), or "" if unreadable."""
    try:
        parts = parse_address(text)
    except ValueError:
        return ""
    return address_key(parts["town"], parts["chome"], parts["banchi"], parts["go"])


def parcel_key(town: str, chome: int | None, block: int | str, lot: int | str) -> str:
    """The lot number key (地番) of a parcel: 本町3丁目12番4."""
    chome_part = f"{chome}丁目" if chome else ""
    return f"{town}{chome_part}{block}番{lot}"
