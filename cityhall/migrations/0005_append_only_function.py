"""The shared append-only function, and the audit log through it (UPDATE, DELETE and now TRUNCATE
are refused; see cityhall.appendonly)."""

from django.db import migrations

from cityhall.appendonly import DROP_FUNCTION_SQL, FUNCTION_SQL, AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("cityhall", "0004_user_language"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION_SQL, DROP_FUNCTION_SQL),
        AppendOnly(
            "cityhall_auditevent",
            replaces=(("cityhall_auditevent_append_only", "machiba_audit_append_only"),),
        ),
    ]
