"""This app's history tables are append-only through the shared operation, which also refuses
TRUNCATE (see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0002_signatures_are_append_only"),
        ("cityhall", "0005_append_only_function"),
    ]

    operations = [
        AppendOnly(
            "identity_signature",
            replaces=(("identity_signature_append_only", "machiba_audit_append_only"),),
        ),
    ]
