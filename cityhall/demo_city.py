"""The demo city's shape, shared by every app's seed step so records, parcels and bills agree.

まちば市 is fictional: eight towns (町) laid out as a grid of blocks west of Tokyo. A resident's
address 「本町3丁目12番4号」 lies in town 本町, chome 3, block (番) 12, lot (号) 4; the GIS seed draws
the blocks and lots where these numbers say.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_CODE = "139998"  # not a real 全国地方公共団体コード; the check digit is valid
ORIGIN_LON = 139.4500  # south-west corner of the city, JGD2011 (EPSG:6668)
ORIGIN_LAT = 35.6500
POSTAL_PREFIX = "190-"


@dataclass(frozen=True)
class Town:
    name: str
    kana: str
    chome: int  # number of 丁目
    postal_code: str


TOWNS: tuple[Town, ...] = (
    Town("本町", "ホンチョウ", 4, "190-0011"),
    Town("栄町", "サカエチョウ", 3, "190-0012"),
    Town("緑町", "ミドリチョウ", 3, "190-0013"),
    Town("旭町", "アサヒチョウ", 3, "190-0014"),
    Town("中央", "チュウオウ", 5, "190-0015"),
    Town("若葉台", "ワカバダイ", 3, "190-0016"),
    Town("桜ケ丘", "サクラガオカ", 4, "190-0017"),
    Town("東町", "ヒガシチョウ", 2, "190-0018"),
)
BLOCKS_PER_CHOME = 30  # 番 1..30 in every 丁目
LOTS_PER_BLOCK = 20  # 号 1..20 in every 番
