"""Issued certificates as a use case: the system completes the application once its certificate
is stored, a reader allowed to have it downloads it (every read audited with its purpose), and
the 印鑑登録 that 印鑑登録証明書 is issued from. The kinds, rendering and storage are
``procedures.certificates``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy, gettext_noop

from cityhall import audit
from cityhall.roles import is_staff_member

from .. import workflow
from ..models import (
    Application,
    CaseEvent,
    Certificate,
    SealRegistration,
)
from .common import _move

MSG_CERTIFICATE_MYNUMBER = gettext_lazy(
    "この証明書には個人番号が記載されています。ダウンロードできるのは申請者本人と、"
    "個人番号を扱う権限のある職員だけです。"
)
MSG_CERTIFICATE_NOT_YOURS = gettext_lazy("この証明書をダウンロードする権限がありません。")
MSG_PURPOSE_REQUIRED = gettext_lazy("利用目的を選んでください。")

OWN_DOWNLOAD_PURPOSE = "本人による受け取り"


def complete_with_certificate(*, application: Application) -> CaseEvent:
    """The system completes an application once its certificate is stored (the issuing worker
    calls this inside its transaction, so the event and the certificate commit together)."""
    return _move(
        application,
        workflow.COMPLETED,
        actor=None,
        role=workflow.SYSTEM,
        comment=gettext_noop("証明書を発行しました"),
    )


def read_certificate(*, certificate: Certificate, reader, purpose: str, request=None) -> bytes:
    """The PDF of an issued certificate, for someone allowed to have it; the read is written to
    the audit log with its purpose and the client's address (every download, resident or staff).

    The applicant's own account may download it. Staff may, with a purpose; a certificate that
    prints a My Number only staff holding reveal_mynumber (番号法19条: the number is provided
    only as the law allows, and a clerk without that permission never receives it).
    """
    application = certificate.application
    own = reader.is_authenticated and application.user_id == reader.pk
    if own:
        purpose = OWN_DOWNLOAD_PURPOSE
    elif is_staff_member(reader):
        if not (purpose or "").strip():
            raise ValidationError({"purpose": [MSG_PURPOSE_REQUIRED]})
        if certificate.shows_mynumber and not reader.has_perm("residents.reveal_mynumber"):
            raise PermissionDenied(MSG_CERTIFICATE_MYNUMBER)
    else:
        raise PermissionDenied(MSG_CERTIFICATE_NOT_YOURS)
    from ..certificates import storage

    pdf = storage.read(certificate)
    audit.record(
        action="procedures.certificate_downloaded",
        actor=reader,
        obj=certificate,
        purpose=purpose,
        request=request,
        details={"application": application.pk, "shows_mynumber": certificate.shows_mynumber},
    )
    return pdf


# --- attachments ---------------------------------------------------------------------------------


@transaction.atomic
def register_seal(
    *, resident, registered_on, number: str, impression_svg: str = ""
) -> SealRegistration:
    """印鑑登録 (a minimal register so 印鑑登録証明書 can be issued)."""
    from ..certificates.assets import seal_impression_svg

    return SealRegistration.objects.create(
        resident=resident,
        number=number,
        registered_on=registered_on,
        impression_svg=impression_svg or seal_impression_svg(resident.family_name),
    )
