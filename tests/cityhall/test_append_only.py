"""Every append-only table refuses UPDATE, DELETE and TRUNCATE through the one
shared function and the AppendOnly migration operation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(ROOT.glob("*/migrations/0*.py"))

# Tables an early migration made append-only with its own trigger SQL…
OLD_TRIGGER = re.compile(
    r"BEFORE UPDATE OR DELETE ON (\w+)\s+FOR EACH ROW EXECUTE FUNCTION (\w*append_only)\(\)"
)
# …and tables declared through the shared operation.
OPERATION = re.compile(r"AppendOnly\(\s*\"(\w+)\"")

OLD_TABLES = sorted(
    {m.group(1) for path in MIGRATIONS for m in OLD_TRIGGER.finditer(path.read_text())}
)
DECLARED = {m.group(1) for path in MIGRATIONS for m in OPERATION.finditer(path.read_text())}
TABLES = sorted(DECLARED | set(OLD_TABLES))

# A value of each type for a NOT NULL column without default; checks that need more say so.
SAMPLE = {
    "bigint": "1",
    "integer": "1",
    "smallint": "1",
    "numeric": "1",
    "boolean": "false",
    "text": "'x'",
    "character varying": "'x'",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "jsonb": "'{}'::jsonb",
    "inet": "'127.0.0.1'",
    "uuid": "gen_random_uuid()",
    "bytea": "'\\x00'::bytea",
}

# Columns whose check constraints want a particular value.
CHECKED = {
    ("residents_movement", "kind"): "'birth'",
    ("identity_signature", "revocation_status"): "'good'",
}


def test_every_append_only_table_uses_the_operation():
    assert OLD_TABLES, "the early migrations' trigger SQL was not found"
    assert set(OLD_TABLES) <= DECLARED


def _triggers(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal",
            [table],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.parametrize("table", TABLES)
def test_only_the_shared_function_guards_the_table(table):
    guards = {name: f for name, f in _triggers(table).items() if "append_only" in f}
    assert guards == {
        f"{table}_append_only_rows": "machiba_append_only",
        f"{table}_append_only_truncate": "machiba_append_only",
    }


def _insert_any_row(table: str) -> None:
    """One row, whatever the table: foreign keys are not checked in replica mode (their
    triggers do not fire), NOT NULL columns get a value of their type."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
            "AND is_identity = 'NO' ORDER BY ordinal_position",
            [table],
        )
        columns = cursor.fetchall()
        cursor.execute("SET LOCAL session_replication_role = replica")
        names = ", ".join(name for name, _ in columns)
        values = ", ".join(CHECKED.get((table, name), SAMPLE[kind]) for name, kind in columns)
        cursor.execute(f"INSERT INTO {table} ({names}) VALUES ({values})")
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.django_db
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET id = id", "DELETE FROM {table}", "TRUNCATE {table} CASCADE"],
)
def test_update_delete_and_truncate_are_refused(table, statement):
    with transaction.atomic():
        _insert_any_row(table)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL machiba.allow_truncate = off")
            with (
                pytest.raises(IntegrityError, match=f"{table} is append-only"),
                transaction.atomic(),
            ):
                cursor.execute(statement.format(table=table))
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone()[0] == 1
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_inserting_stays_allowed():
    with transaction.atomic():
        _insert_any_row("cityhall_auditevent")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM cityhall_auditevent")
            assert cursor.fetchone()[0] == 1
        transaction.set_rollback(True)
