"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0002_registration_lottery_and_history_rules"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "facilities_bookingevent",
            replaces=(("facilities_bookingevent_append_only", "facilities_append_only"),),
        ),
    ]
