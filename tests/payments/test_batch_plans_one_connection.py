"""The charge-check plan guard of test_batch_plans, on the connection whose plan it spoils.

Billing chunks now run on worker threads' own connections by default, which do not carry the
session settings (nested loops only) that the guard sets on the test's connection, and are a
quarter of the size. Here the run is held to one connection and one chunk of CHUNK lines, so the
check at that chunk's end runs with exactly the plan conditions the guard was written for.
"""

from __future__ import annotations

import pytest
from test_batch_plans import (
    test_a_full_chunk_commits_in_bounded_time_after_the_queue_was_analysed_empty as guard,
)

from payments.batches import CHUNK, runs


@pytest.mark.django_db(transaction=True)
def test_the_plan_guard_holds_on_one_connection_with_one_full_chunk(settings, monkeypatch):
    settings.BATCH_PARALLEL_CHUNKS = 1
    monkeypatch.setattr(runs, "PARALLEL_CHUNK", CHUNK)
    guard()
