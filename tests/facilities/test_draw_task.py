"""The draw runs as a Celery task on a real worker, reports its progress in the round's row,
and its published results verify; running the task again changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from factories_facilities import individual, make_facility, make_unit, open_round

from facilities import draw
from facilities.models import Booking, Entry, LotteryRound, RoundSlot
from facilities.services import lottery
from facilities.tasks import run_draw

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def wait_for(round_id: int, state: str, timeout: float = 90) -> LotteryRound:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LotteryRound.objects.get(pk=round_id)
        if found.state == state:
            return found
        time.sleep(0.3)
    raise AssertionError(f"round still {found.state} ({found.draw_error})")


def test_the_draw_task_runs_on_a_worker_with_progress_and_verifies(
    celery_worker_process, supervisor
):
    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round(wins=1)
    slots = list(RoundSlot.objects.filter(round=round_, unit=unit).order_by("starts_at")[:4])
    people = [individual() for _ in range(12)]
    for n, person in enumerate(people):
        lottery.enter(
            round_=round_,
            registration=person,
            user=person.representative,
            slot_ids=[slots[n % 4].pk, slots[(n + 1) % 4].pk],
        )
    lottery.close_round(round_=round_)
    # start_draw queues the task when its transaction commits (on_commit).
    lottery.start_draw(round_=round_, clerk=supervisor)
    done = wait_for(round_.pk, "drawn")
    assert done.percent == 100 and done.draw_processed == done.draw_total > 0
    assert Entry.objects.filter(round=round_, state="won").count() == 4
    assert Booking.objects.filter(entry__round=round_, state="won").count() == 4
    results = json.loads(bytes(done.results_file))
    assert (
        draw.verify(bytes(done.entries_file), results, published_seed_sha256=done.seed_sha256) == []
    )
    # Delivered again (a redelivered message after a worker restart): same winners, no new rows.
    assert run_draw.delay(round_.pk).get(timeout=60) == "drawn"
    assert Booking.objects.filter(entry__round=round_).count() == 4
