"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("taxes", "0003_run_population"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "taxes_declarationcorrection",
            replaces=(("taxes_correction_append_only", "taxes_correction_append_only"),),
        ),
    ]
