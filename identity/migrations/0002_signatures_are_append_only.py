"""A signature the city relied on is evidence: PostgreSQL refuses UPDATE and DELETE of its rows
(the same rule as the audit log, cityhall 0002)."""

from django.db import migrations

FORWARD = """
CREATE TRIGGER identity_signature_append_only
    BEFORE UPDATE OR DELETE ON identity_signature
    FOR EACH ROW EXECUTE FUNCTION machiba_audit_append_only();
"""

BACKWARD = "DROP TRIGGER IF EXISTS identity_signature_append_only ON identity_signature;"


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0001_signing_requests_and_signatures"),
        ("cityhall", "0002_audit_append_only"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
