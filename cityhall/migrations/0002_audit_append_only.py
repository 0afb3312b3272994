"""The audit log is append-only: PostgreSQL itself refuses UPDATE and DELETE of its rows.

TRUNCATE is a table owner's act, not a row change; in production the application's database role
should not own the table (grant it INSERT and SELECT only). Test runs need TRUNCATE to reset.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION machiba_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cityhall_auditevent_append_only
    BEFORE UPDATE OR DELETE ON cityhall_auditevent
    FOR EACH ROW EXECUTE FUNCTION machiba_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS cityhall_auditevent_append_only ON cityhall_auditevent;
DROP FUNCTION IF EXISTS machiba_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cityhall", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
