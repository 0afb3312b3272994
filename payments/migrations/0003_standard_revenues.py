"""Data: the standard revenues (歳入科目), so fees can be charged from the first deploy."""

from django.db import migrations


def create(apps, schema_editor):
    from payments.revenues import ensure_standard_revenues

    ensure_standard_revenues(apps.get_model("payments", "Revenue"))


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger_triggers")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
