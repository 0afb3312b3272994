"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("counter", "0003_counter_open_on_closed_days"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "counter_ticketevent",
            replaces=(("counter_ticketevent_no_update_delete", "counter_ticketevent_append_only"),),
        ),
    ]
