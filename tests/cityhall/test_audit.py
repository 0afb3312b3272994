import pytest
from django.db import DatabaseError, connection, transaction

from cityhall import audit
from cityhall.models import AuditEvent


@pytest.mark.django_db
def test_audit_event_is_recorded_with_purpose(clerk):
    event = audit.record(
        action="resident.view",
        actor=clerk,
        object_type="residents.Resident",
        object_id=42,
        purpose="窓口対応",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.action, stored.object_id, stored.purpose) == (
        clerk,
        "resident.view",
        "42",
        "窓口対応",
    )


@pytest.mark.django_db
def test_audit_rows_cannot_be_updated(clerk):
    event = audit.record(action="resident.view", actor=clerk, purpose="窓口対応")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(purpose="changed")
    assert AuditEvent.objects.get(pk=event.pk).purpose == "窓口対応"


@pytest.mark.django_db
def test_audit_rows_cannot_be_deleted(clerk):
    event = audit.record(action="resident.view", actor=clerk, purpose="窓口対応")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cityhall_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
