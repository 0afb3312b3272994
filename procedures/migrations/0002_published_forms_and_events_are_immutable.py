"""What PostgreSQL itself refuses, beyond Django's constraints.

- A published form version (published_at set) cannot be changed or deleted: applications keep
  the version they were filed with, so it must read tomorrow as it read today.
- Case events are append-only, like the audit log.
- Application reference numbers (受付番号) and certificate issue numbers come from sequences, so concurrent filings never collide.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION procedures_published_form_is_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'form definition % v% is published and cannot be changed (公開済みの様式は変更できません)',
            OLD.procedure_id, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER procedures_published_form_is_immutable
    BEFORE UPDATE OR DELETE ON procedures_formdefinition
    FOR EACH ROW EXECUTE FUNCTION procedures_published_form_is_immutable();

CREATE OR REPLACE FUNCTION procedures_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER procedures_caseevent_append_only
    BEFORE UPDATE OR DELETE ON procedures_caseevent
    FOR EACH ROW EXECUTE FUNCTION procedures_caseevent_append_only();

CREATE SEQUENCE IF NOT EXISTS procedures_application_reference_seq START 1;
CREATE SEQUENCE IF NOT EXISTS procedures_certificate_number_seq START 1;
"""

BACKWARD = """
DROP SEQUENCE IF EXISTS procedures_certificate_number_seq;
DROP SEQUENCE IF EXISTS procedures_application_reference_seq;
DROP TRIGGER IF EXISTS procedures_caseevent_append_only ON procedures_caseevent;
DROP FUNCTION IF EXISTS procedures_caseevent_append_only();
DROP TRIGGER IF EXISTS procedures_published_form_is_immutable ON procedures_formdefinition;
DROP FUNCTION IF EXISTS procedures_published_form_is_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("procedures", "0001_catalogue_forms_cases_certificates")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
