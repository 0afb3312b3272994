"""The ticket history is append-only: the database refuses to change or delete an event row."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION counter_ticketevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'counter_ticketevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER counter_ticketevent_no_update_delete
    BEFORE UPDATE OR DELETE ON counter_ticketevent
    FOR EACH ROW EXECUTE FUNCTION counter_ticketevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS counter_ticketevent_no_update_delete ON counter_ticketevent;
DROP FUNCTION IF EXISTS counter_ticketevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("counter", "0001_counters_tickets")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
