"""Coordinate reference systems and the local-government code (全国地方公共団体コード).

Geometries are stored in JGD2011 geographic coordinates; survey data arrives in the plane
rectangular systems (平面直角座標系, zones I–XIX, northing first, so transform with always_xy);
web maps draw in Web Mercator. FORMATS.md §6.
"""

from __future__ import annotations

import re

JGD2011_GEOGRAPHIC = 6668
# EPSG:6669 is zone I (長崎) … EPSG:6687 is zone XIX; the zone number is srid − 6668.
PLANE_RECTANGULAR_SRIDS = range(6669, 6688)
WEB_MERCATOR = 3857

_FIVE_DIGITS = re.compile(r"[0-9]{5}")
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_WEIGHTS = (6, 5, 4, 3, 2)


def local_gov_check_digit(code5: str) -> int:
    """Return the sixth digit of a local-government code (総務省 団体コード, JIS X 0401/0402)."""
    if not _FIVE_DIGITS.fullmatch(code5):
        raise ValueError(f"expected 5 ASCII digits, got {code5!r}")
    total = sum(int(digit) * weight for digit, weight in zip(code5, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_valid_local_gov_code(code6: str) -> bool:
    """Whether `code6` is six digits whose last digit checks the first five."""
    if not _SIX_DIGITS.fullmatch(code6):
        return False
    return local_gov_check_digit(code6[:5]) == int(code6[5])
