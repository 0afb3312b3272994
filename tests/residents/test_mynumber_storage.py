from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from factories_residents import move_in, valid_mynumber

from cityhall.models import AuditEvent
from residents import services, vault
from residents.models import Resident

pytestmark = pytest.mark.django_db

NUMBER = "526018159084"


def _raw_row(pk: int) -> tuple[bytes, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mynumber_ciphertext, mynumber_digest FROM residents_resident WHERE id = %s",
            [pk],
        )
        blob, digest = cursor.fetchone()
    return bytes(blob), digest


def test_ciphertext_in_the_database_does_not_contain_the_number():
    resident = move_in(mynumber=NUMBER)
    blob, digest = _raw_row(resident.pk)
    assert NUMBER.encode() not in blob
    assert NUMBER.encode("utf-16-le") not in blob
    assert NUMBER not in blob.hex() and NUMBER not in digest
    assert len(blob) == 1 + 4 + 12 + 12 + 16
    assert services.decrypt_mynumber(Resident.objects.get(pk=resident.pk)) == NUMBER


def test_ciphertext_copied_to_another_resident_does_not_decrypt():
    first = move_in(mynumber=NUMBER)
    second = move_in(address="栄町1丁目1番1号")
    blob, _digest = _raw_row(first.pk)
    second.mynumber_ciphertext = blob
    with pytest.raises(vault.VaultError):
        services.decrypt_mynumber(second)


def test_masked_display_shows_only_the_last_four_digits():
    resident = move_in(mynumber=NUMBER)
    assert services.mask_of(resident) == "********9084"


def test_clerk_cannot_reveal(clerk):
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(PermissionDenied):
        services.reveal_mynumber(resident=resident, actor=clerk, purpose="確認")
    assert not AuditEvent.objects.filter(action="residents.mynumber_revealed").exists()


def test_supervisor_reveals_and_the_purpose_is_audited(supervisor):
    resident = move_in(mynumber=NUMBER)
    number = services.reveal_mynumber(resident=resident, actor=supervisor, purpose="児童手当の審査")
    assert number == NUMBER
    event = AuditEvent.objects.get(action="residents.mynumber_revealed")
    assert event.actor == supervisor
    assert event.object_id == str(resident.pk)
    assert event.purpose == "児童手当の審査"


def test_reveal_without_purpose_is_refused(supervisor):
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(Exception, match="利用目的"):
        services.reveal_mynumber(resident=resident, actor=supervisor, purpose=" ")


def test_key_rotation_re_encrypts_and_old_key_can_be_dropped(settings):
    settings.MYNUMBER_KEYS = ["old-key"]
    residents = [
        move_in(mynumber=valid_mynumber(n), address=f"本町1丁目{n}番1号") for n in range(1, 4)
    ]
    settings.MYNUMBER_KEYS = ["new-key", "old-key"]
    assert services.decrypt_mynumber(Resident.objects.get(pk=residents[0].pk)) == valid_mynumber(1)
    call_command("rotate_mynumber_keys", batch_size=2)
    settings.MYNUMBER_KEYS = ["new-key"]
    for n, resident in enumerate(residents, start=1):
        fresh = Resident.objects.get(pk=resident.pk)
        assert services.decrypt_mynumber(fresh) == valid_mynumber(n)
        assert fresh.mynumber_digest == vault.digest(valid_mynumber(n), secret="new-key")
    # The unique digest still catches a duplicate after rotation.
    with pytest.raises(Exception, match="別の住民"):
        move_in(mynumber=valid_mynumber(1), address="栄町1丁目1番1号")


def test_moved_out_residents_number_may_return_with_a_new_record(clerk):
    leaver = move_in(mynumber=NUMBER)
    services.register_move_out(
        resident=leaver, effective_on=date(2024, 1, 1), notified_on=date(2024, 1, 1), clerk=clerk
    )
    again = move_in(mynumber=NUMBER, address="栄町1丁目1番1号")
    assert again.mynumber_digest == Resident.objects.get(pk=leaver.pk).mynumber_digest
