"""Append-only tables: one trigger function in PostgreSQL and one migration operation for all.

A history table (the audit log, case events, movements 異動, ledger events, allocations…) is
evidence: a row is never changed or removed, a mistake is corrected by a new row. PostgreSQL
keeps that rule for every such table through ``machiba_append_only()``, installed by cityhall's
migration 0005, and each app's migration declares its tables with ``AppendOnly("table")``:

- UPDATE and DELETE are refused row by row (``FOR EACH ROW``), so a cascade that finds no rows
  to delete still works;
- TRUNCATE, which skips row triggers, is refused by a statement trigger. The test suite resets
  its database with TRUNCATE (Django's ``flush``), so its connection says
  ``machiba.allow_truncate = on``; production settings never do.

The refusal is a check violation (SQLSTATE 23514: Django raises ``IntegrityError``) naming the
table and the statement.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION machiba_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('machiba.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused (add a reversing or correcting row instead)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation';
END $$;
"""

DROP_FUNCTION_SQL = "DROP FUNCTION IF EXISTS machiba_append_only();"


def trigger_names(table: str) -> tuple[str, str]:
    return f"{table}_append_only_rows", f"{table}_append_only_truncate"


class AppendOnly(Operation):
    """Make ``table`` append-only with the shared function.

    ``replaces`` names the table's earlier append-only triggers as ``(trigger, function)``
    pairs: they are dropped going forwards and put back going backwards (their functions stay,
    for that reason, in the migrations that created them).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, *, replaces: tuple[tuple[str, str], ...] = ()):
        self.table = table
        self.replaces = tuple(tuple(pair) for pair in replaces)

    def deconstruct(self):
        kwargs = {"replaces": self.replaces} if self.replaces else {}
        return self.__class__.__name__, [self.table], kwargs

    def state_forwards(self, app_label, state):
        pass

    def forwards_sql(self) -> str:
        rows, truncate = trigger_names(self.table)
        dropped = "".join(
            f"DROP TRIGGER IF EXISTS {trigger} ON {self.table};\n" for trigger, _ in self.replaces
        )
        return (
            f"{dropped}"
            f"CREATE TRIGGER {rows} BEFORE UPDATE OR DELETE ON {self.table}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION machiba_append_only();\n"
            f"CREATE TRIGGER {truncate} BEFORE TRUNCATE ON {self.table}\n"
            f"    FOR EACH STATEMENT EXECUTE FUNCTION machiba_append_only();\n"
        )

    def backwards_sql(self) -> str:
        rows, truncate = trigger_names(self.table)
        restored = "".join(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {self.table}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {function}();\n"
            for trigger, function in self.replaces
        )
        return (
            f"DROP TRIGGER IF EXISTS {truncate} ON {self.table};\n"
            f"DROP TRIGGER IF EXISTS {rows} ON {self.table};\n"
            f"{restored}"
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(self.forwards_sql(), params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(self.backwards_sql(), params=None)

    def describe(self) -> str:
        return f"Make {self.table} append-only (UPDATE, DELETE and TRUNCATE refused)"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.table}_append_only"
