"""A backup restored into an empty database holds the same rows and the same money totals."""

import os

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cityhall import audit
from factories import UserFactory


def table_fingerprint(dbname: str) -> dict[str, tuple]:
    """Row count of every table, and the sum of every integer column named like an amount."""
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=dbname,
        user=db["USER"],
        host=db["HOST"],
        port=db["PORT"],
        password=db.get("PASSWORD") or None,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            tables = [row[0] for row in cur.fetchall()]
            cur.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN ('bigint', 'integer') "
                "AND column_name LIKE '%%amount%%'"
            )
            money_columns: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                money_columns.setdefault(table, []).append(column)
            fingerprint = {}
            for table in tables:
                sums = ", ".join(f'COALESCE(SUM("{c}"), 0)' for c in money_columns.get(table, []))
                cur.execute(f'SELECT count(*){", " + sums if sums else ""} FROM "{table}"')
                fingerprint[table] = tuple(cur.fetchone())
            return fingerprint
    finally:
        conn.close()


def drop_database(name: str) -> None:
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname="postgres",
        user=db["USER"],
        host=db["HOST"],
        port=db["PORT"],
        password=db.get("PASSWORD") or None,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.mark.django_db(transaction=True)
def test_backup_restores_into_an_empty_database_with_the_same_rows(tmp_path, settings):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "private" / "certificates").mkdir(parents=True)
    (tmp_path / "private" / "certificates" / "c1.pdf").write_bytes(b"%PDF-1.7 test")
    user = UserFactory(role="clerk")
    for n in range(5):
        audit.record(action="test.backup", actor=user, object_id=n, purpose="バックアップ試験")
    archive = tmp_path / "backup.tar"
    call_command("backup", output=str(archive))
    assert archive.exists()

    target = f"test_restore_{os.getpid()}"
    drop_database(target)
    (tmp_path / "private").rename(tmp_path / "private-before")
    try:
        call_command("restore", str(archive), database=target)
        original = table_fingerprint(connection.settings_dict["NAME"])
        restored = table_fingerprint(target)
        assert restored == original
        assert restored["cityhall_auditevent"][0] >= 5
        assert (tmp_path / "private" / "certificates" / "c1.pdf").read_bytes() == b"%PDF-1.7 test"
        # A second restore into the now non-empty database is refused, nothing overwritten.
        with pytest.raises(CommandError, match="not empty"):
            call_command("restore", str(archive), database=target)
    finally:
        drop_database(target)
