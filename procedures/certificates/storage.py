"""Certificates at rest: every issued PDF is stored sealed with the My Number key ring
(AES-256-GCM, residents.services.seal), bound to its issue number.

A certificate of residence may print 個人番号, and any certificate prints a name, an address and
a birth date; a PDF on disk, in a backup or on a stolen volume must not be readable without the
keys (番号法 安全管理措置). Policy, the stricter choice: all certificates are
sealed, not only those with a My Number, so there is one way to store and read them. Files are
written with mode 0600 (settings.FILE_UPLOAD_PERMISSIONS).
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction

from residents.services import register_key_rotation, seal, sealed_under_current_key, unseal

from ..models import Certificate

SEALED_SUFFIX = ".pdf.sealed"


def _context(certificate: Certificate) -> str:
    return f"certificate:{certificate.issue_number}"


def store(certificate: Certificate, pdf: bytes) -> None:
    """Seal the PDF and attach it to the (unsaved or to-be-saved) certificate row."""
    sealed = seal(pdf, context=_context(certificate))
    certificate.file.save(
        f"{certificate.issue_number}{SEALED_SUFFIX}", ContentFile(sealed), save=False
    )
    certificate.sealed = True


def _raw(certificate: Certificate) -> bytes:
    with certificate.file.open("rb") as handle:
        return handle.read()


def read(certificate: Certificate) -> bytes:
    """The plain PDF (only procedures.services.read_certificate, which checks and audits, and
    the tests call this)."""
    data = _raw(certificate)
    if certificate.sealed:
        return unseal(data, context=_context(certificate))
    return data


@register_key_rotation
def reseal_certificates(*, batch_size: int = 200) -> int:
    """Seal certificates stored before sealing existed and re-seal those under an older key.

    Run by `manage.py rotate_mynumber_keys` after a new key is put first. Batches of rows, each
    in its own transaction, so a crash loses at most one batch and a second run goes on (rows
    already sealed under the first key are skipped). A replaced file is deleted only after its
    row commits.
    """
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Certificate.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not rows:
                return done
            for certificate in rows:
                if certificate.sealed and sealed_under_current_key(_raw(certificate)):
                    continue
                pdf = read(certificate)
                old_name = certificate.file.name
                storage = certificate.file.storage
                store(certificate, pdf)
                certificate.save(update_fields=["file", "sealed"])
                transaction.on_commit(lambda name=old_name, storage=storage: storage.delete(name))
                done += 1
            last_pk = rows[-1].pk
