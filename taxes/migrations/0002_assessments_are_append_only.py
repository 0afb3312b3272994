"""What PostgreSQL itself refuses in taxes.

- An assessment version is never rewritten or deleted: a 更正 is a new version. Only
  ``is_current`` (when a newer version replaces it) and ``schedule`` (the collection of a 更正
  re-spread over the months left) may change.
- The clerk's corrections of declarations are append-only, like the audit log.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION taxes_assessment_is_history() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'is_current' - 'schedule')
                           IS DISTINCT FROM (to_jsonb(OLD) - 'is_current' - 'schedule') THEN
        RAISE EXCEPTION 'assessment % is history: % refused (税額決定は更正で新しい版を作ります)',
            OLD.id, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER taxes_assessment_is_history
    BEFORE UPDATE OR DELETE ON taxes_assessment
    FOR EACH ROW EXECUTE FUNCTION taxes_assessment_is_history();

CREATE OR REPLACE FUNCTION taxes_correction_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'declaration corrections are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER taxes_correction_append_only
    BEFORE UPDATE OR DELETE ON taxes_declarationcorrection
    FOR EACH ROW EXECUTE FUNCTION taxes_correction_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS taxes_correction_append_only ON taxes_declarationcorrection;
DROP FUNCTION IF EXISTS taxes_correction_append_only();
DROP TRIGGER IF EXISTS taxes_assessment_is_history ON taxes_assessment;
DROP FUNCTION IF EXISTS taxes_assessment_is_history();
"""


class Migration(migrations.Migration):
    dependencies = [("taxes", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
