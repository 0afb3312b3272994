"""Point-in-time recovery of the private PostgreSQL cluster with pgBackRest.

`cityhall/ops/services.sh` starts the cluster with `archive_command` pushing every WAL segment
into the pgBackRest repository under `var/pgbackrest`, and runs pgBackRest for us
(`services.sh pgbackrest …`) as the user that owns the cluster. This module takes base backups,
makes sure the WAL up to now is archived, and restores the cluster *as of a moment* into a new
data folder on another port, which is what a recovery after a lost disk or a bad batch needs.
README "Backups and point-in-time recovery" says how a city schedules it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
from django.conf import settings
from django.utils import timezone

PG_BIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
SERVICES = Path(settings.BASE_DIR) / "cityhall" / "ops" / "services.sh"
# A full backup older than this is followed by a new full one rather than another incremental:
# recovery then replays at most a week of changes on top of the full set.
FULL_BACKUP_MAX_AGE = timedelta(days=7)


class RecoveryError(Exception):
    """pgBackRest or a restored cluster did not do what the recovery needs."""


def _as_cluster_owner(command: list[str]) -> list[str]:
    # initdb, pg_ctl and pgBackRest refuse root; services.sh runs the cluster as postgres then.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], *, timeout: float = 600) -> str:
    # From /: the cluster's owner may not be allowed into the checkout.
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
    if result.returncode != 0:
        raise RecoveryError(
            f"{' '.join(command[:4])}… failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return result.stdout


def pgbackrest(*args: str, timeout: float = 600) -> str:
    """pgBackRest on the private cluster's stanza, with the configuration services.sh wrote."""
    if os.environ.get("DATABASE_URL") and not _is_private_cluster():
        raise RecoveryError(
            "DATABASE_URL points to a database outside the private cluster: recover it with its "
            "own tools (CloudNativePG, the provider's point-in-time restore)."
        )
    return _run(["bash", str(SERVICES), "pgbackrest", *args], timeout=timeout)


def _is_private_cluster() -> bool:
    db = settings.DATABASES["default"]
    private_port = int(os.environ.get("MACHIBA_PG_PORT", "5439"))
    return db.get("HOST") in ("127.0.0.1", "localhost") and int(db.get("PORT") or 0) == private_port


def cluster_home() -> Path:
    """The folder holding `pg/` and `pgbackrest/` (var/, or /var/lib/machiba/<hash>/ as root)."""
    return (Path(settings.VAR_DIR) / "pg").resolve().parent


def backups() -> list[dict]:
    """The backup sets in the repository, oldest first (pgBackRest's `info` as JSON)."""
    info = json.loads(pgbackrest("info", "--output=json"))
    return info[0]["backup"] if info else []


def take_backup(*, kind: str) -> dict:
    """A base backup: `full`, `diff` (since the last full) or `incr` (since the last backup).
    pgBackRest makes a requested diff or incr a full one when there is no full backup yet."""
    if kind not in ("full", "diff", "incr"):
        raise ValueError(f"unknown backup type {kind!r}")
    pgbackrest("backup", f"--type={kind}", timeout=3600)
    return backups()[-1]


def backup_for_drill() -> dict:
    """An incremental backup on top of a full one that is at most a week old."""
    fulls = [b for b in backups() if b["type"] == "full"]
    now = time.time()
    if not fulls or now - fulls[-1]["timestamp"]["stop"] > FULL_BACKUP_MAX_AGE.total_seconds():
        take_backup(kind="full")
    return take_backup(kind="incr")


def archive_current_wal() -> None:
    """Close the current WAL segment and wait until pgBackRest has it in the repository
    (`check` switches the segment and waits for it, up to archive-timeout)."""
    pgbackrest("check", timeout=300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RestoredCluster:
    """A cluster restored from the repository, running on its own port and data folder."""

    data_dir: Path
    port: int
    target: datetime
    backup_label: str
    # From the start of the restore until the cluster was promoted and answered a query.
    seconds_to_recover: float
    # The commit time of the last transaction recovery replayed (the recovery point achieved).
    last_transaction_at: datetime | None
    timeline: int

    def connect(self, dbname: str):
        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=settings.DATABASES["default"]["USER"],
            dbname=dbname,
        )

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                _as_cluster_owner(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
                ),
                capture_output=True,
                timeout=120,
                cwd="/",
            )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def restore_to_time(
    *,
    target: datetime,
    databases: list[str],
    folder: Path | None = None,
    port: int | None = None,
    backup_set: str = "",
) -> RestoredCluster:
    """Restore the private cluster as it was at `target` into a NEW data folder and start it on
    another port; returns once it is promoted (out of recovery) and answers queries.

    Only `databases` (and PostgreSQL's own) are restored; pgBackRest writes the others as empty
    sparse files, which keeps a drill quick on a cluster that also holds test databases. The
    restored cluster archives nothing (`--archive-mode=off`): it must not write into the
    repository of the cluster it came from. `backup_set` names the base backup to start from
    (pgBackRest's `--set`); without it pgBackRest picks one by its stop time, which it keeps in
    whole seconds, so a backup taken in the second before `target` may be passed over.
    """
    folder = folder or cluster_home() / "drill"
    port = port or free_port()
    _remove_leftover(folder)
    data_dir, socket_dir = folder / "pg", folder / "socket"
    for path in (data_dir, socket_dir):
        path.mkdir(parents=True, mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for path in (data_dir, socket_dir):
            shutil.chown(path, "postgres", "postgres")
    started = time.monotonic()
    output = pgbackrest(
        "restore",
        "--log-level-console=info",
        f"--pg1-path={data_dir}",
        "--type=time",
        f"--target={timezone.localtime(target).isoformat(sep=' ')}",
        "--target-action=promote",
        "--archive-mode=off",
        *([f"--set={backup_set}"] if backup_set else []),
        *[f"--db-include={name}" for name in databases],
        timeout=3600,
    )
    options = (
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c archive_mode=off "
        "-c shared_buffers=128MB"
    )
    _run(
        _as_cluster_owner(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "600",
                "start",
            ]
        ),
        timeout=660,
    )
    # pgBackRest chooses the newest backup set that ended before the target and says which.
    label = re.search(r"restore backup set (\S+)", output)
    cluster = RestoredCluster(
        data_dir=data_dir,
        port=port,
        target=target,
        backup_label=label.group(1).rstrip(",") if label else "",
        seconds_to_recover=0.0,
        last_transaction_at=None,
        timeline=0,
    )
    try:
        last, timeline = _wait_until_promoted(cluster, timeout=600)
    except Exception:
        cluster.remove()
        raise
    cluster.seconds_to_recover = time.monotonic() - started
    cluster.last_transaction_at = last
    cluster.timeline = timeline
    return cluster


def _wait_until_promoted(
    cluster: RestoredCluster, *, timeout: float
) -> tuple[datetime | None, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with cluster.connect("postgres") as conn, conn.cursor() as cur:
                # A promoted cluster writes on a new timeline: the first 8 hex digits of the
                # current WAL file's name.
                cur.execute(
                    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), CASE WHEN "
                    "pg_is_in_recovery() THEN 0 ELSE ('x' || substr(pg_walfile_name("
                    "pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
                )
                in_recovery, last, timeline = cur.fetchone()
            conn.close()
            if not in_recovery:
                return last, timeline
        except psycopg2.OperationalError:
            pass
        time.sleep(0.2)
    log = (cluster.data_dir.parent / "server.log").read_text(errors="replace")[-2000:]
    raise RecoveryError(f"the restored cluster did not finish recovery in {timeout:.0f} s:\n{log}")


def _remove_leftover(folder: Path) -> None:
    """A drill that was interrupted may have left its cluster running; stop and remove it."""
    data_dir = folder / "pg"
    if (data_dir / "postmaster.pid").exists():
        subprocess.run(
            _as_cluster_owner(
                [str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            timeout=120,
            cwd="/",
        )
    shutil.rmtree(folder, ignore_errors=True)
