"""Every save of the form designer is a new version, so a version's content never changes and
no version is ever deleted (the history the designer's diff reads stays whole); a published
version does not change at all. Until now only published versions were protected, and a draft
was edited in place.

Before publishing, only the publication columns of a draft may change (its approval, the date
it is scheduled for, the moment it goes live). counter_only became channels (0012/0013).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION procedures_published_form_is_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'form definition % v% is part of the history and cannot be deleted (様式の版は削除できません)',
            OLD.procedure_id, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'form definition % v% is published and cannot be changed (公開済みの様式は変更できません)',
            OLD.procedure_id, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.definition IS DISTINCT FROM OLD.definition
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.procedure_id IS DISTINCT FROM OLD.procedure_id
        OR NEW.created_by_id IS DISTINCT FROM OLD.created_by_id THEN
        RAISE EXCEPTION 'form definition % v% was saved and cannot be changed: save a new version (保存した版は変更できません)',
            OLD.procedure_id, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = """
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
"""


class Migration(migrations.Migration):
    dependencies = [("procedures", "0013_fill_channels_fee_rules_categories")]

    operations = [
        migrations.RemoveField(model_name="procedure", name="counter_only"),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
