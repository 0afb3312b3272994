"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0014_versions_never_change"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "procedures_caseevent",
            replaces=(("procedures_caseevent_append_only", "procedures_caseevent_append_only"),),
        ),
    ]
