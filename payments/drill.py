"""The recovery drill (`make drill`, BCP 業務継続計画の訓練): money received must survive a lost
disk up to the minute.

It records payments, notes the time, records more, then restores the private cluster as of that
time into a new cluster (another data folder, another port) from the pgBackRest repository, and
checks that exactly the payments recorded before the time are there, with the same money total,
and none of those recorded after it. It measures what the city's BCP states: the recovery point
achieved (how far before the requested moment the last recovered transaction lies) and the
recovery time (from the start of the restore to a cluster that answers queries).
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from cityhall import pitr

from . import services
from .models import Channel, Payment


@dataclass
class DrillResult:
    run: str
    backup_label: str
    target: datetime
    # Payment id → amount, as recorded by the drill before and after the target moment.
    before: dict[int, int]
    after: dict[int, int]
    # The drill's payments found in the restored cluster.
    restored: dict[int, int]
    # Every payment of the database (count, yen) as of the target, and as restored.
    all_at_target: tuple[int, int]
    all_restored: tuple[int, int]
    cluster: pitr.RestoredCluster
    archive_timeout_seconds: int

    @property
    def ok(self) -> bool:
        return self.restored == self.before and self.all_restored == self.all_at_target

    @property
    def total_before(self) -> int:
        return sum(self.before.values())

    @property
    def total_restored(self) -> int:
        return sum(self.restored.values())

    @property
    def recovery_point_gap_seconds(self) -> float:
        """How long before the requested moment the last recovered transaction committed."""
        last = self.cluster.last_transaction_at
        return max(0.0, (self.target - last).total_seconds()) if last else 0.0


def _record(run: str, number: int, rng: random.Random) -> Payment:
    # A bank transfer (銀行振込) noticed but not yet matched to a bill: a payment row like any
    # other, with a key that marks it as the drill's own.
    return services.create_payment(
        payer=None,
        channel=Channel.BANK_TRANSFER,
        amount=rng.randrange(1_000, 100_000, 100),
        idempotency_key=f"drill-{run}-{number}",
        external_ref=f"drill-{run}-{number}",
    )


def _payments_now() -> tuple[datetime, int, int]:
    """The database's clock and its payments (count, yen), read in one snapshot."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(
            f"SELECT clock_timestamp(), count(*), coalesce(sum(amount), 0) "  # noqa: S608
            f"FROM {Payment._meta.db_table}"
        )
        moment, count, total = cursor.fetchone()
    return moment, count, int(total)


def _restored_payments(cluster: pitr.RestoredCluster, *, run: str) -> tuple[dict, tuple]:
    table = Payment._meta.db_table
    conn = cluster.connect(connection.settings_dict["NAME"])
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT id, amount FROM {table} WHERE idempotency_key LIKE %s",  # noqa: S608
                [f"drill-{run}-%"],
            )
            mine = dict(cursor.fetchall())
            cursor.execute(f"SELECT count(*), coalesce(sum(amount), 0) FROM {table}")  # noqa: S608
            count, total = cursor.fetchone()
    finally:
        conn.close()
    return mine, (count, int(total))


def run_drill(*, before: int = 10, after: int = 10, keep: bool = False) -> DrillResult:
    """Run the drill on the database Django is connected to (which must live in the private
    cluster). With `keep`, the restored cluster keeps running for inspection; the caller
    removes it (`result.cluster.remove()`)."""
    if before < 1 or after < 1:
        raise ValueError("the drill needs payments before and after the target")
    backup = pitr.backup_for_drill()
    run = uuid.uuid4().hex[:12]
    rng = random.Random(run)
    written_before = {p.pk: p.amount for p in (_record(run, n, rng) for n in range(before))}
    target, count_at_target, total_at_target = _payments_now()
    # Commit times are in microseconds; the next payment must be visibly after the target.
    time.sleep(0.01)
    written_after = {p.pk: p.amount for p in (_record(run, before + n, rng) for n in range(after))}
    with connection.cursor() as cursor:
        cursor.execute("SHOW archive_timeout")
        archive_timeout = _seconds(cursor.fetchone()[0])
    pitr.archive_current_wal()

    cluster = pitr.restore_to_time(
        target=target, databases=[connection.settings_dict["NAME"]], backup_set=backup["label"]
    )
    try:
        restored, all_restored = _restored_payments(cluster, run=run)
    except Exception:
        cluster.remove()
        raise
    if not keep:
        cluster.remove()
    return DrillResult(
        run=run,
        backup_label=cluster.backup_label or backup["label"],
        target=target,
        before=written_before,
        after=written_after,
        restored=restored,
        all_at_target=(count_at_target, total_at_target),
        all_restored=all_restored,
        cluster=cluster,
        archive_timeout_seconds=archive_timeout,
    )


def _seconds(setting: str) -> int:
    """PostgreSQL shows archive_timeout as '1min', '60s' or '0'."""
    units = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}
    number = setting.rstrip("abcdefghijklmnopqrstuvwxyz")
    return int(float(number) * units.get(setting[len(number) :], 1))
