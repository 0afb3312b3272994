"""The billing benchmark with the ledger's foreign keys removed: how fast the batches could be if
no per-row key check ran at all. Not a design to adopt (the keys are the ledger's rules), but an
upper bound on what replacing the per-row checks by per-statement ones could win, measured
rather than guessed.

    .venv/bin/python bench/_without_ledger_keys.py --scale 100000 [--billing-only]

Takes the arguments of bench/billing.py and prints the same figures, after dropping every
foreign key of the five tables a billing run or a convenience-store import writes row by row,
in the benchmark's own database only (created and dropped by the run). `make bench` does not
run it (bench/run_all.py skips scripts named with a leading underscore); compare its figures
with bench/billing.py run just before or after at the same scale.
"""

from __future__ import annotations

import contextlib
import runpy
import sys
from pathlib import Path

import _common

HOT_TABLES = [
    "payments_charge",
    "payments_installment",
    "payments_payment",
    "payments_allocation",
    "payments_ledgerevent",
]
_bench_database = _common.bench_database


@contextlib.contextmanager
def _without_keys(name: str, **options):
    with _bench_database(name, **options) as database:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT conrelid::regclass::text, conname FROM pg_constraint
                 WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)
                """,
                [HOT_TABLES],
            )
            keys = cursor.fetchall()
            for table, key in keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{key}"')
        print(f"# dropped {len(keys)} foreign keys of {', '.join(HOT_TABLES)}", flush=True)
        yield database


if __name__ == "__main__":
    # bench/billing.py reads bench_database from _common when it runs, so it gets this one.
    _common.bench_database = _without_keys
    script = Path(__file__).resolve().parent / "billing.py"
    sys.argv = [str(script), *sys.argv[1:]]
    runpy.run_path(str(script), run_name="__main__")
