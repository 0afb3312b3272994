"""Benchmark: how fast the demo seed creates residents (households, periods, movements, My Numbers).

    .venv/bin/python bench/residents_seed.py [--scale 100000]

Works in its own database (bench_residents_seed), created and dropped here. Prints one JSON line
per figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityhall.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # development settings, said explicitly
DB_NAME = "bench_residents_seed"


def _admin_connection():
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        dbname="postgres",
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"],
        port=db["PORT"],
    )
    conn.autocommit = True
    return conn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    args = parser.parse_args()

    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = DB_NAME
    django.setup()
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        from django.core.management import call_command
        from django.db import connection, transaction

        call_command("migrate", verbosity=0, interactive=False)
        from cityhall.seeding import SeedContext
        from residents.seed import create_demo_residents

        ctx = SeedContext(residents=args.scale, parcels=0, stdout=io.StringIO())
        started = time.perf_counter()
        with transaction.atomic():
            created = create_demo_residents(ctx, args.scale)
        # The commit runs the deferred household-head checks; it belongs in the timing.
        seconds = time.perf_counter() - started
        figures = [
            ("residents_seed_rows_per_second", round(created / seconds), "rows/s"),
            ("residents_seed_seconds", round(seconds, 2), "s"),
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM residents_household")
            figures.append(("residents_seed_households", cursor.fetchone()[0], "households"))
        for name, value, unit in figures:
            print(json.dumps({"name": name, "value": value, "unit": unit, "scale": args.scale}))
    finally:
        from django.db import connection

        connection.close()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        admin.close()


if __name__ == "__main__":
    main()
