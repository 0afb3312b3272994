"""The recovery drill: WAL archiving with pgBackRest, full and incremental backups, and a
point-in-time restore into a new cluster that holds exactly the payments before the moment."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from cityhall import pitr
from payments.drill import run_drill
from payments.management.commands.drill import bcp_line


def test_the_private_cluster_archives_its_wal_with_pgbackrest(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW archive_mode")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW archive_command")
        assert "archive-push" in cursor.fetchone()[0]
        cursor.execute("SELECT failed_count, last_failed_wal FROM pg_stat_archiver")
        before = cursor.fetchone()
    # `check` switches to a new WAL segment and waits until the repository has the old one.
    pitr.archive_current_wal()
    with connection.cursor() as cursor:
        cursor.execute("SELECT archived_count, failed_count, last_failed_wal FROM pg_stat_archiver")
        archived, failed, _last_failed = cursor.fetchone()
    assert archived > 0
    assert failed == before[0], "archive_command failed while the drill's WAL was archived"


@pytest.mark.django_db(transaction=True)
def test_drill_restores_exactly_the_payments_before_the_moment_into_a_new_cluster():
    result = run_drill(before=6, after=5, keep=True)
    try:
        # The drill restored from an incremental backup on top of a full one.
        sets = pitr.backups()
        assert any(b["type"] == "full" for b in sets)
        assert re.fullmatch(r"\d{8}-\d{6}F_\d{8}-\d{6}I", result.backup_label), result.backup_label

        # A new cluster: its own data folder and port, promoted onto a new timeline.
        assert result.cluster.port != int(connection.settings_dict["PORT"])
        assert "drill" in str(result.cluster.data_dir)
        assert result.cluster.timeline >= 2

        # Looked at independently of the drill's own comparison: exactly the payments
        # recorded before the noted moment, the same money, nothing recorded after it.
        conn = result.cluster.connect(connection.settings_dict["NAME"])
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT id, amount FROM payments_payment WHERE idempotency_key LIKE %s",
                    [f"drill-{result.run}-%"],
                )
                restored = dict(cursor.fetchall())
                cursor.execute("SELECT pg_is_in_recovery()")
                assert cursor.fetchone()[0] is False
        finally:
            conn.close()
        assert restored == result.before
        assert sum(restored.values()) == sum(result.before.values()) > 0
        assert not set(restored) & set(result.after)
        assert len(result.after) == 5
        assert result.all_restored == result.all_at_target
        assert result.ok

        # The recovery point is the moment asked for (to the minute, and much better).
        assert result.cluster.last_transaction_at <= result.target
        assert result.recovery_point_gap_seconds < 60
        assert 0 < result.cluster.seconds_to_recover < 300

        # What `make drill` prints for the BCP, from these figures.
        line = bcp_line(result)
        assert f"収納 6 件・{sum(result.before.values()):,} 円はすべて一致し" in line
        assert f"復旧時間は {result.cluster.seconds_to_recover:.1f} 秒" in line
    finally:
        result.cluster.remove()
    assert not result.cluster.data_dir.exists()


def test_drill_line_for_the_bcp_in_japanese_and_english(db):
    from datetime import UTC, datetime

    from cityhall.pitr import RestoredCluster
    from payments.drill import DrillResult

    cluster = RestoredCluster(
        data_dir=pitr.cluster_home() / "drill" / "pg",
        port=5999,
        target=datetime(2026, 4, 1, 0, 30, 5, 250000, tzinfo=UTC),
        backup_label="20260401-020000F_20260401-093000I",
        seconds_to_recover=17.25,
        last_transaction_at=datetime(2026, 4, 1, 0, 30, 5, 246000, tzinfo=UTC),
        timeline=2,
    )
    result = DrillResult(
        run="r",
        backup_label=cluster.backup_label,
        target=cluster.target,
        before={1: 12_000, 2: 3_500},
        after={3: 800},
        restored={1: 12_000, 2: 3_500},
        all_at_target=(2, 15_500),
        all_restored=(2, 15_500),
        cluster=cluster,
        archive_timeout_seconds=60,
    )
    line = bcp_line(result)
    assert line == (
        "復旧訓練（2026-04-01）: pgBackRest のバックアップ 20260401-020000F_20260401-093000I と "
        "WAL アーカイブから、2026-04-01 09:30:05.250 JST の時点のデータベースを新しいクラスタへ"
        "復元しました。その時点までに記録した収納 2 件・15,500 円はすべて一致し、その後の 1 件は"
        "含まれません。復旧時点は指定時刻の 0.004 秒前まで（実際の障害で失われうるのは最大 60 秒分"
        "の WAL）、復旧時間は 17.2 秒（復元の開始から問い合わせに応答するまで）。"
    )
    from django.utils import translation

    with translation.override("en"):
        english = bcp_line(result)
    assert english.startswith("Recovery drill (2026-04-01): the database as of 2026-04-01 09:30")
    assert "All 2 payments recorded until then (15,500 yen) match" in english
    assert "recovery time: 17.2 s" in english
    assert "\n" not in english and "\n" not in line
