"""An application from draft to submission: started on the newest published form (online or at
the counter, 書かない窓口), answers stored (My Numbers sealed, masks kept), checked against the
filed version, signed with the マイナンバーカード where the procedure asks for it, submitted or
resubmitted after 補正 with its fee charged, or withdrawn by the applicant.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from cityhall.dates import add_business_days
from cityhall.japanese import normalize_text
from cityhall.roles import is_staff_member
from residents import mynumber as mynumber_rules

from .. import formschema, selectors, workflow
from ..models import (
    Application,
    CaseEvent,
    Procedure,
)
from .attachments import add_attachment, remove_attachment
from .common import (
    MSG_NOT_EDITABLE,
    MSG_NOT_STAFF,
    MSG_NOT_YOURS,
    WORK_CASES,
    _lock,
    _may_act_as_applicant,
    _move,
    _require,
)
from .mynumbers import _seal_mynumbers, sealed_mynumbers

MSG_NO_FORM = gettext_lazy("この手続の申請書はまだ公開されていません。")
MSG_COUNTER_ONLY = gettext_lazy("この手続は窓口でのみ受け付けます。")
MSG_ONLINE_ONLY = gettext_lazy("この手続はオンラインでのみ受け付けます。")
MSG_NOT_RESIDENT = gettext_lazy("住民の記録がありません。")


def _next_reference() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('procedures_application_reference_seq')")
        (number,) = cursor.fetchone()
    return f"{timezone.localdate():%Y}-{number:07d}"


@transaction.atomic
def start_application(*, procedure: Procedure, resident, user, filed_by=None) -> Application:
    """A new draft on the newest published form, prefilled from the resident record.

    `filed_by` is the clerk when the application is made at the counter (書かない窓口).
    """
    if resident is None or resident.status != "current":
        raise ValidationError(MSG_NOT_RESIDENT, code="not_resident")
    if filed_by is not None:
        _require(filed_by, WORK_CASES, MSG_NOT_STAFF)
    elif procedure.counter_only:
        raise ValidationError(MSG_COUNTER_ONLY, code="counter_only")
    if filed_by is not None and procedure.online_only:
        raise ValidationError(MSG_ONLINE_ONLY)
    form = selectors.published_form(procedure)
    if form is None:
        raise ValidationError(MSG_NO_FORM)
    application = Application.objects.create(
        reference=_next_reference(),
        procedure=procedure,
        form=form,
        applicant=resident,
        user=user,
        filed_by=filed_by,
        answers=selectors.prefill_values(form.definition, resident),
    )
    CaseEvent.objects.create(
        application=application,
        actor=filed_by or user,
        from_state="",
        to_state=workflow.DRAFT,
        comment=gettext_noop("窓口で作成しました") if filed_by else "",
        visible_to_applicant=True,
    )
    return application


def _context(application: Application, *, staff: bool) -> formschema.Context:
    counts: dict[str, int] = {}
    for field_id in application.attachments.values_list("field_id", flat=True):
        counts[field_id] = counts.get(field_id, 0) + 1
    dynamic = selectors.dynamic_choices(application.form.definition, application.applicant)
    return formschema.Context(
        staff=staff,
        dynamic_choices={k: [v for v, _label in pairs] for k, pairs in dynamic.items()},
        attachment_counts=counts,
        sealed_mynumbers=sealed_mynumbers(application),
    )


def _store_answers(application: Application, answers: dict, *, staff: bool) -> None:
    """Merge what was typed into the stored answers (a page posts every field, the API may post
    some); fields the person cannot see are never overwritten (a resident never touches a
    staff-only field)."""
    definition = application.form.definition
    allowed = {
        f["id"] for f in formschema.fields_for(definition, staff=staff) if f["type"] != "file"
    }
    typed = {k: v for k, v in answers.items() if k in allowed}
    sealed = sealed_mynumbers(application)
    for field in formschema.all_fields(definition):
        fid = field["id"]
        if field["type"] != "mynumber" or fid not in typed:
            continue
        # My Number is never kept in the answers: a valid number is sealed with the vault's keys
        # and the answers keep its mask; the mask posted back means "unchanged". A mistyped one
        # is kept as a bare mask, which validation reports, so the clerk types it again (never
        # echoed back: a wrong number is often one digit off a real one).
        value = str(typed[fid] or "").strip()
        if value and sealed.get(fid) and value == mynumber_rules.mask(sealed[fid]):
            continue
        digits = normalize_text(value)
        if not value:
            sealed.pop(fid, None)
            typed[fid] = ""
        elif mynumber_rules.is_valid(digits):
            sealed[fid] = digits
            typed[fid] = mynumber_rules.mask(digits)
        else:
            sealed.pop(fid, None)
            typed[fid] = mynumber_rules.mask(value)
    _seal_mynumbers(application, sealed)
    application.answers = application.answers | typed


@transaction.atomic
def save_draft(*, application: Application, answers: dict, actor) -> Application:
    """Save answers without checking them, so the resident can resume later."""
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE, code="not_editable")
    _store_answers(
        application, answers, staff=is_staff_member(actor) and application.is_counter_filing
    )
    application.save(update_fields=["answers", "sealed_mynumbers", "updated_at"])
    return application


@transaction.atomic
def save_draft_with_files(
    *,
    application: Application,
    answers: dict,
    actor,
    uploads: list[tuple[str, Any]] = (),
    remove_attachment_ids: list[int] = (),
) -> dict[str, list[str]]:
    """Save what was typed together with the files chosen on the same page, so one bad answer or
    one refused file loses nothing else. Returns the refused files' messages by field id.

    Each file is stored in its own savepoint: a file of the wrong type is refused alone while the
    answers and the other files are kept.
    """
    save_draft(application=application, answers=answers, actor=actor)
    for attachment in application.attachments.filter(pk__in=list(remove_attachment_ids)):
        remove_attachment(attachment=attachment, actor=actor)
    errors: dict[str, list[str]] = {}
    for field_id, upload in uploads:
        try:
            add_attachment(application=application, field_id=field_id, upload=upload, actor=actor)
        except ValidationError as exc:
            messages = exc.message_dict.get(field_id) if hasattr(exc, "error_dict") else None
            errors.setdefault(field_id, []).extend(messages or exc.messages)
    return errors


def check_answers(
    *, application: Application, answers: dict, staff: bool = False
) -> tuple[dict, dict]:
    """(cleaned, errors) of answers against the version the application was filed on."""
    return formschema.validate_answers(
        application.form.definition, answers, _context(application, staff=staff)
    )


def _clean_for_submission(application: Application, answers: dict | None, *, staff: bool) -> None:
    """Store what was typed, check every answer against the filed version and keep the cleaned
    answers on the (locked) application. Raises ValidationError mapping field ids to messages
    (the typed answers are saved first, so nothing typed is lost)."""
    if answers is not None:
        _store_answers(application, answers, staff=staff)
    cleaned, errors = check_answers(
        application=application, answers=application.answers, staff=staff
    )
    if errors:
        application.save(update_fields=["answers", "sealed_mynumbers", "updated_at"])
        raise ValidationError(errors)
    hidden_staff = {
        k: v
        for k, v in application.answers.items()
        if k
        not in {f["id"] for f in formschema.fields_for(application.form.definition, staff=staff)}
    }
    application.answers = hidden_staff | cleaned
    _store_answers(application, application.answers, staff=True)


def signing_payload(application: Application, *, signed_at: str) -> dict:
    """What the resident signs with the マイナンバーカード: the application's answers, procedure,
    form version and reference, and the time (its canonical bytes: identity.jpki)."""
    return {
        "type": "machiba.application",
        "reference": application.reference,
        "procedure": application.procedure.slug,
        "procedure_name": application.procedure.name_ja,
        "form_version": application.form.version,
        "applicant": application.applicant.resident_code,
        "answers": application.answers,
        "signed_at": signed_at,
    }


def needs_signature(application: Application) -> bool:
    """Filed online on a procedure of identity level jpki (at the counter the clerk checks the
    person's card instead)."""
    return application.procedure.needs_signature and not application.is_counter_filing


@transaction.atomic
def prepare_for_signing(*, application: Application, actor, answers: dict | None = None) -> dict:
    """Check and keep the answers exactly as they will be submitted, and return the payload the
    resident signs. Raises ValidationError like submit_application."""
    application = _lock(application)
    if application.user_id is None or application.user_id != getattr(actor, "pk", None):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE, code="not_editable")
    _clean_for_submission(application, answers, staff=False)
    application.save(update_fields=["answers", "updated_at"])
    return signing_payload(application, signed_at=timezone.localtime().isoformat())


def _check_signature(application: Application, signature) -> None:
    """The signature must be over this application as it is now, by the applicant."""

    from identity import jpki
    from residents.selectors import four_fact_mismatches

    if signature is None:
        raise ValidationError(
            gettext("この手続はマイナンバーカードによる電子署名が必要です。"),
            code="signature_required",
        )
    try:
        signed_at = json.loads(signature.canonical)["signed_at"]
    except (ValueError, KeyError, TypeError):
        signed_at = ""
    expected = jpki.canonical_bytes(signing_payload(application, signed_at=signed_at))
    if signature.origin != application.origin or expected != signature.canonical.encode():
        raise ValidationError(
            gettext("署名のあとで申請内容が変わりました。もう一度署名してください。"),
            code="signed_content_changed",
        )
    differs = four_fact_mismatches(
        application.applicant,
        name=signature.signer_name,
        address=signature.signer_address,
        birth_date=signature.signer_birth_date,
        sex=signature.signer_sex,
        city_name=settings.CITY_NAME,
    )
    if differs:
        raise ValidationError(
            gettext(
                "署名したマイナンバーカードの情報が申請者の住民記録と一致しません。"
                "申請者ご本人のカードで署名するか、窓口で請求してください。"
            ),
            code="signer_mismatch",
        )


@transaction.atomic
def submit_application(
    *, application: Application, actor, answers: dict | None = None, signature=None
) -> Application:
    """Check every answer against the filed version; submit (or resubmit after 補正); ask for
    the fee when there is one, else hand the case to the clerks.

    A procedure of identity level jpki filed online needs `signature`: an identity.Signature the
    server verified, over this application's payload as it is now, by the applicant.

    Raises ValidationError mapping each field id to its messages.
    """
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    staff = is_staff_member(actor) and application.is_counter_filing
    _clean_for_submission(application, answers, staff=staff)
    if needs_signature(application):
        _check_signature(application, signature)
        application.signature = signature
        application.save(update_fields=["signature", "updated_at"])
    if application.state == workflow.CORRECTION_REQUESTED:
        application.save(update_fields=["answers", "sealed_mynumbers", "updated_at"])
        _move(application, workflow.RESUBMITTED, actor=actor, role=workflow.APPLICANT)
        return application
    today = timezone.localdate()
    application.submitted_at = timezone.now()
    application.due_on = add_business_days(today, application.procedure.processing_days)
    application.fee_yen = application.procedure.fee(
        application.form.definition, application.answers
    )
    application.save(
        update_fields=[
            "answers",
            "sealed_mynumbers",
            "submitted_at",
            "due_on",
            "fee_yen",
            "updated_at",
        ]
    )
    _move(application, workflow.SUBMITTED, actor=actor, role=workflow.APPLICANT)
    if application.fee_yen > 0:
        from payments.services import create_fee_charge

        charge = create_fee_charge(
            payer=application.applicant,
            amount=application.fee_yen,
            # The reference, in no language: the statement names the revenue (手数料 / Fees) in
            # the reader's language and the application page names the procedure.
            description=application.reference,
            origin=application.origin,
            revenue_code=application.procedure.fee_revenue or "fee",
        )
        application.charge_id = charge.pk
        application.save(update_fields=["charge_id", "updated_at"])
        _move(application, workflow.AWAITING_PAYMENT, actor=None, role=workflow.SYSTEM)
    else:
        _move(application, workflow.IN_REVIEW, actor=None, role=workflow.SYSTEM)
    return application


@transaction.atomic
def withdraw(*, application: Application, actor, comment: str = "") -> Application:
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    _move(application, workflow.WITHDRAWN, actor=actor, role=workflow.APPLICANT, comment=comment)
    return application
