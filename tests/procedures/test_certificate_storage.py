"""Certificates (those with My Number above all) are stored encrypted with the
vault's key ring, with rotation, never as plaintext PDFs readable by anyone on the machine."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from factories_procedures import approved_application
from factories_residents import move_in
from pypdf import PdfReader

from procedures.certificates import issuing, storage
from procedures.models import Certificate
from residents import vault

NUMBER = "526018159084"
OLD_KEY = "dev-only-mynumber-key-0001"
NEW_KEY = "rotated-mynumber-key-2027"


@pytest.fixture
def certificate(settings, resident_user, residence_procedure, clerk):
    settings.MYNUMBER_KEYS = [OLD_KEY]
    head = move_in(mynumber=NUMBER)
    head.user = resident_user
    head.save(update_fields=["user"])
    application = approved_application(
        head,
        residence_procedure,
        clerk,
        {"purpose": "年金", "members": [str(head.pk)], "include": ["mynumber"]},
    )
    issued = issuing.issue_certificate(application_id=application.pk)
    yield issued
    issued.refresh_from_db()
    issued.file.storage.delete(issued.file.name)


def _on_disk(certificate: Certificate) -> Path:
    return Path(certificate.file.path)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_stored_file_is_ciphertext_readable_by_the_owner_only(certificate):
    path = _on_disk(certificate)
    data = path.read_bytes()
    assert certificate.sealed and path.name.endswith(".pdf.sealed")
    assert not data.startswith(b"%PDF") and b"%PDF" not in data
    assert data.startswith(vault.VERSION + vault.key_id(OLD_KEY))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pdf = storage.read(certificate)
    assert hashlib.sha256(pdf).hexdigest() == certificate.sha256
    assert NUMBER in _text(pdf)


def test_a_sealed_file_moved_to_another_certificate_does_not_open(certificate):
    other = Certificate(issue_number="2099-0000001", sealed=True)
    other.file = certificate.file
    with pytest.raises(vault.VaultError):
        storage.read(other)


def test_rotation_reseals_certificates_under_the_new_key(
    certificate, settings, client, django_capture_on_commit_callbacks
):
    settings.MYNUMBER_KEYS = [NEW_KEY, OLD_KEY]
    old_path = _on_disk(certificate)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rotate_mynumber_keys", stdout=io.StringIO())
    certificate.refresh_from_db()
    assert _on_disk(certificate).read_bytes().startswith(vault.VERSION + vault.key_id(NEW_KEY))
    assert not old_path.exists()
    # The old key can go: the resident still downloads the certificate.
    settings.MYNUMBER_KEYS = [NEW_KEY]
    client.force_login(certificate.application.user)
    response = client.get(f"/my/applications/{certificate.application_id}/certificate.pdf")
    assert response.status_code == 200 and NUMBER in _text(response.content)
    # A second run has nothing left to do.
    out = io.StringIO()
    call_command("rotate_mynumber_keys", stdout=out)
    assert "re-sealed 0" in out.getvalue()


def test_rotation_seals_a_certificate_stored_before_sealing(
    certificate, django_capture_on_commit_callbacks
):
    pdf = storage.read(certificate)
    legacy_name = certificate.file.storage.save("certificates/legacy.pdf", ContentFile(pdf))
    Certificate.objects.filter(pk=certificate.pk).update(file=legacy_name, sealed=False)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rotate_mynumber_keys", stdout=io.StringIO())
    certificate.refresh_from_db()
    assert certificate.sealed and not _on_disk(certificate).read_bytes().startswith(b"%PDF")
    assert storage.read(certificate) == pdf
    assert not (Path(certificate.file.storage.location) / legacy_name).exists()


def test_a_backup_keeps_certificates_encrypted(certificate, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = tmp_path / "backup.tar"
    call_command("backup", output=str(archive), stdout=io.StringIO())
    stored = _on_disk(certificate).read_bytes()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        ours = f"private/{certificate.file.name}"
        assert ours in names and ours.endswith(".pdf.sealed")
        data = tar.extractfile(ours).read()
        assert data == stored and not data.startswith(b"%PDF")
        # The plain PDF is nowhere in the archive.
        plain = [
            m.name
            for m in tar.getmembers()
            if m.isfile()
            and hashlib.sha256(tar.extractfile(m).read()).hexdigest() == certificate.sha256
        ]
        assert plain == []
