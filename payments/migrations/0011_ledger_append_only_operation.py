"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0010_unmatched_reason_labels"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "payments_allocation", replaces=(("allocation_append_only", "payments_append_only"),)
        ),
        AppendOnly(
            "payments_adjustment", replaces=(("adjustment_append_only", "payments_append_only"),)
        ),
        AppendOnly(
            "payments_ledgerevent", replaces=(("ledgerevent_append_only", "payments_append_only"),)
        ),
    ]
