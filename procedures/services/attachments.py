"""Files attached to an application: size, count and real type checked (magic numbers), images
re-encoded without EXIF, stored under our own name; removed while the application is editable.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy

from cityhall.roles import is_staff_member

from .. import formschema, images, sniff, workflow
from ..models import (
    Application,
    Attachment,
)
from .common import (
    MSG_NOT_EDITABLE,
    MSG_NOT_YOURS,
    _lock,
    _may_act_as_applicant,
)

MSG_TOO_BIG = gettext_lazy("ファイルが大きすぎます（10MBまで）。")
MSG_TOO_MANY = gettext_lazy("添付できるファイルの数を超えています。")
MSG_UNKNOWN_FILE_FIELD = gettext_lazy("添付する項目が見つかりません。")

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_APPLICATION = 20


@transaction.atomic
def add_attachment(*, application: Application, field_id: str, upload, actor) -> Attachment:
    """Store an uploaded file privately after checking its size and its real type (magic
    numbers: an executable renamed .pdf is refused); an image is decoded with a pixel limit and
    stored re-encoded without its EXIF (procedures/images.py)."""
    application = _lock(application)
    if not _may_act_as_applicant(application, actor) and not is_staff_member(actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE, code="not_editable")
    fields = {
        f["id"]: f
        for f in formschema.all_fields(application.form.definition)
        if f["type"] == "file"
    }
    if field_id not in fields:
        raise ValidationError({field_id or "file": [MSG_UNKNOWN_FILE_FIELD]})
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError({field_id: [MSG_TOO_BIG]})
    if application.attachments.count() >= MAX_ATTACHMENTS_PER_APPLICATION:
        raise ValidationError({field_id: [MSG_TOO_MANY]})
    upload.seek(0)
    data = upload.read()
    try:
        content_type = sniff.check_upload(upload.name or "", data[:16])
    except ValueError as exc:
        raise ValidationError({field_id: [str(exc)]}) from None
    if images.is_image(content_type):
        try:
            data = images.clean_image(
                data, content_type=content_type, max_pixels=settings.MAX_IMAGE_PIXELS
            )
        except ValueError as exc:
            raise ValidationError({field_id: [str(exc)]}) from None
    digest = hashlib.sha256(data).hexdigest()
    suffix = sniff.ACCEPTED[content_type][1][0]
    attachment = Attachment(
        application=application,
        field_id=field_id,
        original_name=(upload.name or "file")[-200:],
        content_type=content_type,
        size=len(data),
        sha256=digest,
        uploaded_by=actor,
    )
    # The stored name is ours (the digest), never the uploader's.
    attachment.file.save(f"{application.pk}-{digest[:16]}{suffix}", ContentFile(data), save=False)
    attachment.save()
    return attachment


@transaction.atomic
def remove_attachment(*, attachment: Attachment, actor) -> None:
    application = _lock(attachment.application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE, code="not_editable")
    attachment.file.delete(save=False)
    attachment.delete()


# --- seal registration ---------------------------------------------------------------------------
