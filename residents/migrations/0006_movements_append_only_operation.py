"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0005_drop_period_household_gist"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "residents_movement",
            replaces=(("residents_movement_append_only", "residents_movement_append_only"),),
        ),
    ]
