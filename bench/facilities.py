"""Facilities: the lottery draw of 50,000 entries over 5,000 slots, next to the same draw in
plain Python on the same data (its floor), and the availability search for one month of one
facility type under wrk (p95), next to a bare "ok" view under the same load.

    .venv/bin/python bench/facilities.py [--entries 50000] [--slots 5000] [--seconds 10]

Works in its own database bench_facilities (created, migrated, dropped). The draw figure is the
Celery task's body (``lottery.run_draw``): read the committed entries file, draw, and write
every winner, loser and winning booking in one transaction. The floor is ``draw.draw`` alone on
the same entries, in memory: what no storage can beat. The availability server runs gunicorn
with production settings (DEBUG off), like bench/portal.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta

from _common import (
    SERVER_ENV,
    bench_database,
    emit,
    gunicorn,
    load_average,
    percentile,
    run_wrk,
)

# wrk connections: 4 (one per gunicorn worker: what a request costs, little queueing) and 16
# (four waiting per worker: queueing on this machine's two cores dominates).
CONCURRENCIES = (4, 16)


def _users(count: int, prefix: str) -> list:
    from cityhall.models import User

    made = []
    for i in range(count):
        user = User(email=f"{prefix}-{i:06d}@bench.machiba.jp", display_name=f"{prefix} {i}")
        user.set_unusable_password()
        made.append(user)
    User.objects.bulk_create(made, batch_size=5000)
    return list(User.objects.filter(email__startswith=f"{prefix}-").order_by("id"))


def _registrations(users: list, rng: random.Random) -> list:
    from django.utils import timezone

    from facilities.models import Registration

    today = timezone.localdate()
    rows = [
        Registration(
            number=f"B{i:07d}",
            kind="group" if i % 20 == 0 else "individual",
            state="approved",
            representative=user,
            name=f"利用者{i}",
            name_kana="リヨウシャ",
            in_city=rng.random() < 0.75,
            valid_until=today.replace(year=today.year + 3),
        )
        for i, user in enumerate(users)
    ]
    Registration.objects.bulk_create(rows, batch_size=5000)
    return list(Registration.objects.order_by("id"))


def fixed_unit(facility, code: str, *, lottery: bool):
    from datetime import time as clock

    from facilities.models import Period, Unit

    unit = Unit.objects.create(
        facility=facility, code=code, name_ja=code, name_en=code, capacity=50, lottery=lottery
    )
    Period.objects.bulk_create(
        Period(unit=unit, code=c, name_ja=c, name_en=c, starts=clock(a), ends=clock(b),
               fee_resident=1_200, fee_group=1_000, fee_nonresident=2_400)
        for c, a, b in (("am", 9, 12), ("pm", 13, 17), ("night", 18, 21))
    )  # fmt: skip
    return unit


def build_round(entries: int, slots: int, rng: random.Random):
    """A round with exactly ``slots`` slots and ``entries`` entries of 1–3 choices each
    (weekend evenings wanted most), closed, its seed committed."""
    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from facilities.models import Choice, Entry, Facility, LotteryRound, OpeningHours, RoundSlot
    from facilities.services import lottery
    from facilities.services.common import next_number
    from facilities.slots import TOKYO

    per_unit = 90  # three periods a day over a month
    for f in range(slots // (per_unit * 6) + 1):
        facility = Facility.objects.create(
            code=f"bench-{f}",
            name_ja=f"ベンチ運動場{f}",
            name_en=f"Bench field {f}",
            kind="field",
            area_ja="本町",
            address="本町1丁目1番1号",
            location=Point(139.5, 35.7, srid=6668),
            tiers=[["resident_group"], ["resident", "group"], ["nonresident"]],
            year_end_closed=False,
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(facility=facility, weekday=d, opens="09:00", closes="21:00")
            for d in range(7)
        )
        for u in range(6):
            fixed_unit(facility, f"bench-{f}-{u}", lottery=True)
    now = timezone.now()
    month = timezone.localdate().replace(day=1)
    round_ = LotteryRound.objects.create(
        code=f"{month:%Y-%m}",
        month=month,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        results_at=now + timedelta(days=2),
        confirm_by=now + timedelta(days=10),
        max_entries_per_applicant=5,
        max_wins_per_applicant=2,
        max_choices_per_entry=3,
    )
    lottery.open_round(round_=round_)
    keep = list(
        RoundSlot.objects.filter(round=round_)
        .order_by("starts_at", "unit_id")
        .values_list("pk", flat=True)[:slots]
    )
    RoundSlot.objects.filter(round=round_).exclude(pk__in=keep).delete()
    pool = list(RoundSlot.objects.filter(round=round_).select_related("unit"))
    assert len(pool) == slots, f"only {len(pool)} slots"
    by_facility: dict[int, list] = {}
    for slot in pool:
        by_facility.setdefault(slot.unit.facility_id, []).append(slot)
    weights = {
        s.pk: (4 if s.starts_at.astimezone(TOKYO).weekday() >= 5 else 1)
        * (2 if s.starts_at.astimezone(TOKYO).hour >= 18 else 1)
        for s in pool
    }
    registrations = _registrations(_users(entries // 4 + 1000, "bench"), rng)
    counts: dict[int, int] = {}
    taken: set[tuple[int, int]] = set()
    plan = []
    facility_ids = sorted(by_facility)
    while len(plan) < entries:
        who = rng.choice(registrations)
        if counts.get(who.pk, 0) >= 5:
            continue
        facility_id = rng.choice(facility_ids)
        candidates = by_facility[facility_id]
        picked = []
        for slot in rng.choices(candidates, weights=[weights[s.pk] for s in candidates], k=3):
            if (who.pk, slot.pk) not in taken and slot not in picked:
                picked.append(slot)
        picked = picked[: rng.choice([1, 2, 3])]
        if not picked:
            continue
        counts[who.pk] = counts.get(who.pk, 0) + 1
        taken.update((who.pk, s.pk) for s in picked)
        plan.append((who, facility_id, picked))
    numbers = [next_number("facilities_entry_number_seq") for _ in plan]
    made = Entry.objects.bulk_create(
        (
            Entry(
                round=round_,
                registration=who,
                facility_id=facility_id,
                entered_by_id=who.representative_id,
                number=f"E{number:07d}",
            )
            for number, (who, facility_id, _p) in zip(numbers, plan, strict=True)
        ),
        batch_size=5000,
    )
    Choice.objects.bulk_create(
        (
            Choice(entry=entry, rank=rank, slot=slot, round=round_, registration=who)
            for entry, (who, _f, picked) in zip(made, plan, strict=True)
            for rank, slot in enumerate(picked, start=1)
        ),
        batch_size=10000,
    )
    return lottery.close_round(round_=round_)


def bench_draw(entries: int, slots: int) -> None:
    from django.db import connection

    from facilities import draw
    from facilities.models import Booking, Entry, LotteryRound
    from facilities.services import lottery

    rng = random.Random(20261130)
    started = time.perf_counter()
    round_ = build_round(entries, slots, rng)
    emit("facilities.lottery_setup", time.perf_counter() - started, "s", entries)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    document = json.loads(bytes(round_.entries_file))
    choices = sum(len(e["choices"]) for e in document["entries"])

    parsed = draw.entries_from_document(document)
    started = time.perf_counter()
    floor_winners = draw.draw(
        parsed,
        seed_hex=round_.seed,
        entries_sha256=round_.entries_sha256,
        max_wins=round_.max_wins_per_applicant,
        slots=document["slots"],
    )
    floor = time.perf_counter() - started

    LotteryRound.objects.filter(pk=round_.pk).update(state="drawing")
    started = time.perf_counter()
    done = lottery.run_draw(round_.pk)
    seconds = time.perf_counter() - started
    assert done.state == "drawn", done.state
    won = Entry.objects.filter(round=round_, state="won").count()
    assert won == len(floor_winners) == Booking.objects.filter(entry__round=round_).count()
    scale = f"{entries} entries × {slots} slots"
    emit("facilities.draw", seconds, "s", scale, winners=won, choices=choices, target_s=10)
    emit("facilities.draw.plain_python_floor", floor, "s", scale, winners=len(floor_winners))
    results = json.loads(bytes(done.results_file))
    started = time.perf_counter()
    problems = draw.verify(bytes(done.entries_file), results)
    emit("facilities.verify", time.perf_counter() - started, "s", scale, problems=len(problems))
    assert not problems, problems


def bench_availability(seconds: int) -> None:
    from django.db import connection
    from django.utils import timezone
    from psycopg2.extras import DateTimeTZRange

    from cityhall.seeding import SeedContext
    from facilities import seed as facilities_seed
    from facilities import selectors
    from facilities import slots as slotlib
    from facilities.models import Booking, Unit
    from facilities.services.common import next_number

    ctx = SeedContext(residents=0, parcels=0, stdout=open(os.devnull, "w"))
    facilities_seed.build_facilities(random.Random(1))
    people = facilities_seed._people(ctx, 300, prefix="avail")
    # A busy month ahead: about half of every gym's slots booked.
    rng = random.Random(7)
    first = timezone.localdate() + timedelta(days=1)
    last = first + timedelta(days=30)
    rows = []
    for unit in selectors.units_with_plan(Unit.objects.filter(facility__kind="gym")):
        for slot in slotlib.slots_between(selectors.plan_of(unit), first, last):
            if rng.random() < 0.5:
                who = rng.choice(people)
                rows.append(
                    Booking(
                        reference=f"R{next_number('facilities_booking_reference_seq'):08d}",
                        unit=unit,
                        during=DateTimeTZRange(slot.start_at, slot.end_at, "[)"),
                        kind="first_come",
                        state="reserved",
                        registration=who,
                        rate=who.rate,
                    )
                )
    Booking.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # The work behind one uncached answer, in this process (no HTTP, no cache): its floor.
    from facilities.api.availability import _availability
    from facilities.services.common import now as now_

    samples = []
    for _ in range(30):
        started = time.perf_counter()
        _availability({"kind": "gym", "area": "", "facility": ""}, first, 31, now_())
        samples.append((time.perf_counter() - started) * 1000)
    emit(
        "facilities.availability_month_gym.uncached_compute_p95",
        percentile(samples, 95),
        "ms",
        "in process",
    )
    path = f"/api/facilities/availability/?kind=gym&from={first.isoformat()}&days=31"
    os.environ.update(SERVER_ENV)
    with gunicorn(workers=4) as base:
        import urllib.request

        with urllib.request.urlopen(base + path, timeout=30) as response:
            etag = response.headers["ETag"]
            body = json.loads(response.read())
        cells = sum(len(u["slots"]) for u in body)
        answer = f"{len(body)} units × 31 days, {cells} slots"
        for connections in CONCURRENCIES:
            # The bare view before and after the availability run: the machine is shared, and
            # its load moves within a minute; the floor is the mean of the two.
            runs = {}
            for name, url, headers in (
                ("bare_ok_view", "/livez", ()),
                ("availability_month_gym", path, ()),
                ("bare_ok_view.after", "/livez", ()),
                ("availability_month_gym.if_none_match_304", path, (f"If-None-Match: {etag}",)),
            ):
                run_wrk(base + url, connections=connections, seconds=2, headers=headers)
                result = run_wrk(
                    base + url, connections=connections, seconds=seconds, headers=headers
                )
                runs[name] = result
                duration = result["duration_us"] / 1e6
                scale = f"c{connections}" + (f", {answer}" if "availability" in name else "")
                emit(
                    f"facilities.{name}.c{connections}.throughput",
                    result["requests"] / duration,
                    "req/s",
                    scale,
                    errors=result["errors"],
                    non2xx=result["non2xx"],
                    load_average=load_average(),
                )
                emit(f"facilities.{name}.c{connections}.p95", result["p95_us"] / 1000, "ms", scale)
            floor = (runs["bare_ok_view"]["p95_us"] + runs["bare_ok_view.after"]["p95_us"]) / 2000
            p95 = runs["availability_month_gym"]["p95_us"] / 1000
            emit(
                f"facilities.availability_month_gym.c{connections}.p95_over_floor",
                p95 / floor,
                "×",
                f"c{connections}: p95 {p95:.1f} ms over the bare view's {floor:.1f} ms",
                target_ms=100,
                met=p95 < 100,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--slots", type=int, default=5_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--part", choices=["all", "draw", "availability"], default="all")
    args = parser.parse_args()
    # Production settings (DEBUG off) for the draw too: DEBUG's query log would be measured.
    os.environ.update(SERVER_ENV)
    with bench_database("facilities"):
        if args.part in ("all", "draw"):
            bench_draw(args.entries, args.slots)
        if args.part in ("all", "availability"):
            bench_availability(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
