"""Invariants PostgreSQL holds for the register, beyond what Django's constraints express.

- Movements (異動) are append-only: UPDATE and DELETE are refused, as for the audit log.
- A household with current members has a current head (世帯主). Checked at commit by a
  deferred constraint trigger, so a service may move the head flag within one transaction.
- Household numbers come from a sequence, so concurrent move-ins never collide.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION residents_movement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'movements are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER residents_movement_append_only
    BEFORE UPDATE OR DELETE ON residents_movement
    FOR EACH ROW EXECUTE FUNCTION residents_movement_append_only();

CREATE OR REPLACE FUNCTION residents_household_has_head() RETURNS trigger AS $$
DECLARE
    hid bigint;
BEGIN
    FOREACH hid IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.household_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.household_id END
    ] LOOP
        IF hid IS NOT NULL
           AND EXISTS (SELECT 1 FROM residents_resident
                       WHERE household_id = hid AND status = 'current')
           AND NOT EXISTS (SELECT 1 FROM residents_resident
                           WHERE household_id = hid AND status = 'current' AND is_head) THEN
            RAISE EXCEPTION 'household % has current members but no head (世帯主がいません)', hid
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'household_has_head_while_it_has_members';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER household_has_head_while_it_has_members
    AFTER INSERT OR DELETE OR UPDATE OF household_id, status, is_head ON residents_resident
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION residents_household_has_head();

CREATE SEQUENCE IF NOT EXISTS residents_household_number_seq START 1;
SELECT setval('residents_household_number_seq',
              GREATEST(1, COALESCE((SELECT max(number::bigint) FROM residents_household
                                    WHERE number ~ '^[0-9]+$'), 0) + 1), false);
"""

BACKWARD = """
DROP SEQUENCE IF EXISTS residents_household_number_seq;
DROP TRIGGER IF EXISTS household_has_head_while_it_has_members ON residents_resident;
DROP FUNCTION IF EXISTS residents_household_has_head();
DROP TRIGGER IF EXISTS residents_movement_append_only ON residents_movement;
DROP FUNCTION IF EXISTS residents_movement_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("residents", "0003_history_movements_activation")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
