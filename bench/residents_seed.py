"""Benchmark: the resident register at a city's size — seeding, the clerk's search, the 360 view.

    .venv/bin/python bench/residents_seed.py [--scale 100000] [--requests 200]
    .venv/bin/python bench/residents_seed.py --curve 100000,300000,1000000

Works in its own database (bench_residents_seed), created and dropped here (`--curve` seeds each
size after emptying the register). Prints one JSON line per figure and, as `# ` notes, the plan of each kind
of search (EXPLAIN ANALYZE of the selector's own SQL), so a sequential scan shows.

- seeding: `residents.seed.create_demo_residents` (households, periods, movements, encrypted My
  Numbers) in one transaction, its commit included;
- search: the counter's search page (`/staff/counter/residents/?q=…`) as a signed-in clerk, in
  this process through Django's test client, with kanji and kana names (whole and partial), a
  name with its birth date and a resident code; p50/p95 over every request;
- 360 view: `/staff/counter/residents/<id>/` for random residents, p50/p95;
- seed floor: the same rows written again by the database alone (CREATE TABLE … AS SELECT into
  tables without indexes, constraints or triggers);
- floor: the bare "ok" view (`/livez`) through the same client in the same run.
Every search and 360 request writes its audit row; the script checks the count.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from urllib.parse import quote

# Django logs each request as a JSON line; run_all.py reads JSON lines as figures.
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _common import bench_database, emit, percentile  # noqa: E402

SEARCH_KINDS = (
    "kanji family name",
    "kanji full name",
    "kana family name",
    "hiragana given name (partial)",
    "kanji name and birth date",
    "resident code",
)


def _terms(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(kind, q, birth_date) drawn from the seeded register itself."""
    from residents.models import Resident

    sample = list(
        Resident.objects.order_by("?").values_list(
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "birth_date",
            "resident_code",
        )[: max(count, 10)]
    )
    terms = []
    for index in range(count):
        family, given, family_kana, given_kana, birth, code = sample[index % len(sample)]
        kind = SEARCH_KINDS[index % len(SEARCH_KINDS)]
        if kind == "kanji family name":
            terms.append((kind, family, ""))
        elif kind == "kanji full name":
            terms.append((kind, f"{family} {given}", ""))
        elif kind == "kana family name":
            terms.append((kind, family_kana, ""))
        elif kind == "hiragana given name (partial)":
            hira = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in given_kana)
            terms.append((kind, hira[:2] if len(hira) > 2 else hira, ""))
        elif kind == "kanji name and birth date":
            terms.append((kind, family, birth.isoformat()))
        else:
            terms.append((kind, code, ""))
    return terms


def _explain(terms: list[tuple[str, str, str]]) -> None:
    """Print the plan of one search of each kind (the selector's SQL, EXPLAIN ANALYZE)."""
    from django.db import connection

    from residents import selectors
    from residents.models import Resident

    seen = set()
    for kind, q, birth in terms:
        if kind in seen:
            continue
        seen.add(kind)
        captured = []

        def capture(execute, sql, params, many, context, captured=captured):
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            selectors.search_residents(q, birth_date=_date(birth), limit=50)
        sql, params = next(item for item in captured if Resident._meta.db_table in item[0])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        scans = [line.strip() for line in plan if "Scan" in line]
        print(f"# plan: {kind} ({q!r}): {plan[-1].strip()}", flush=True)
        for line in scans:
            print(f"#     {line}", flush=True)


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text) if text else None


def _timed_get(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed


def measure(scale: int, requests: int, seed_only: bool) -> None:
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.test import Client

    from cityhall.models import AuditEvent, User
    from cityhall.seeding import SeedContext
    from residents.models import Resident
    from residents.seed import BULK_TABLES, create_demo_residents

    ctx = SeedContext(residents=scale, parcels=0, stdout=io.StringIO())
    started = time.perf_counter()
    with transaction.atomic():
        created = create_demo_residents(ctx, scale)
    # The commit runs the deferred checks; it belongs in the timing.
    seconds = time.perf_counter() - started
    emit("residents_seed_rows_per_second", created / seconds, "rows/s", scale)
    emit("residents_seed_seconds", seconds, "s", scale)
    # Floor: the database writing the same rows again, set-based, into tables without indexes,
    # constraints or triggers (no Python, no encryption, no index builds).
    with connection.cursor() as cursor:
        floor_started = time.perf_counter()
        with transaction.atomic():
            for table in BULK_TABLES:
                cursor.execute(f"CREATE TABLE floor_{table} AS SELECT * FROM {table}")
        floor = time.perf_counter() - floor_started
        for table in BULK_TABLES:
            cursor.execute(f"DROP TABLE floor_{table}")
    emit("residents_seed_floor_plain_insert_seconds", floor, "s", scale)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM residents_household")
        emit("residents_seed_households", cursor.fetchone()[0], "households", scale)
        cursor.execute("SELECT pg_total_relation_size('residents_resident')")
        emit("residents_table_with_indexes", cursor.fetchone()[0] / 2**20, "MiB", scale)
        cursor.execute("SELECT pg_database_size(current_database())")
        emit("residents_database_size", cursor.fetchone()[0] / 2**20, "MiB", scale)
    if seed_only:
        return
    with connection.cursor() as cursor:
        # What autovacuum would do soon after a bulk load; plans are for analysed tables.
        cursor.execute("VACUUM ANALYZE")

    from allauth.mfa.totp.internal.auth import TOTP

    clerk = User.objects.filter(email="bench-clerk@example.jp").first()
    if clerk is None:
        clerk = User.objects.create_user(email="bench-clerk@example.jp", password="x" * 20)
        clerk.groups.add(Group.objects.get(name="clerk"))
        TOTP.activate(clerk, "JBSWY3DPEHPK3PXP")
    client = Client()
    client.force_login(clerk)

    rng = random.Random(17)
    terms = _terms(rng, requests)
    _explain(terms)
    ids = list(
        Resident.objects.filter(status=Resident.Status.CURRENT)
        .order_by("?")
        .values_list("id", flat=True)[:requests]
    )
    audit_before = AuditEvent.objects.filter(actor=clerk).count()
    for path in ("/livez", "/staff/counter/residents/?q=" + quote(terms[0][1])):
        _timed_get(client, path)  # warm URL, template and translation caches
    _timed_get(client, f"/staff/counter/residents/{ids[0]}/")
    warm = 2

    floor = [_timed_get(client, "/livez") for _ in range(requests)]
    by_kind: dict[str, list[float]] = {}
    search = []
    for kind, q, birth in terms:
        path = "/staff/counter/residents/?q=" + quote(q)
        if birth:
            path += "&birth_date=" + birth
        elapsed = _timed_get(client, path)
        search.append(elapsed)
        by_kind.setdefault(kind, []).append(elapsed)
    views = [_timed_get(client, f"/staff/counter/residents/{pk}/") for pk in ids]
    audited = AuditEvent.objects.filter(actor=clerk).count() - audit_before
    if audited != len(search) + len(views) + warm:
        raise RuntimeError(f"{audited} audit rows for {len(search) + len(views) + warm} reads")

    n = f"{scale} residents, {requests} requests"
    emit("residents_floor_bare_view_p95", percentile(floor, 95), "ms", n)
    emit("residents_search_p50", percentile(search, 50), "ms", n)
    emit("residents_search_p95", percentile(search, 95), "ms", n)
    for kind, samples in by_kind.items():
        emit(f"residents_search_p95 ({kind})", percentile(samples, 95), "ms", n)
    emit("residents_360_p50", percentile(views, 50), "ms", n)
    emit("residents_360_p95", percentile(views, 95), "ms", n)
    emit("residents_reads_audited", audited, "rows", n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--curve", default="", help="sizes, e.g. 100000,300000,1000000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.curve.split(",") if s] or [args.scale]
    with bench_database("residents_seed"):
        for position, scale in enumerate(sizes):
            if position:
                _empty_register()
            with open("/proc/loadavg") as loadavg:
                print(f"# load average before {scale}: {loadavg.read().split()[:3]}", flush=True)
            measure(scale, args.requests, args.seed_only)
            with open("/proc/loadavg") as loadavg:
                print(f"# load average after {scale}: {loadavg.read().split()[:3]}", flush=True)


def _empty_register() -> None:
    """Between the sizes of a curve: the register emptied (migrating again takes minutes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Movements are append-only (a trigger refuses TRUNCATE); in this throwaway database
        # the register is emptied with triggers off for this session.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE residents_movement, residents_residenceperiod, residents_resident,"
            " residents_household, residents_address CASCADE"
        )
        cursor.execute("SET session_replication_role = DEFAULT")


if __name__ == "__main__":
    main()
