"""Every change of state in procedures: one function per use case, each in one transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from cityhall import audit
from cityhall.dates import add_business_days
from cityhall.japanese import search_key
from cityhall.notifications import notify
from cityhall.roles import ADMIN, CLERK, SUPERVISOR, has_role, is_staff_member

from . import formschema, selectors, sniff, workflow
from .models import Application, Attachment, CaseEvent, FormDefinition, Procedure, SealRegistration

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_APPLICATION = 20

MSG_PUBLISHED = "公開済みの様式は変更できません。新しい版を作ってください / A published form cannot be changed; create a new version"
MSG_NOT_ADMIN = "様式を管理できるのは管理者だけです / Only administrators manage forms"
MSG_NOT_STAFF = "この操作は職員だけができます / Only staff can do this"
MSG_NOT_YOURS = "この申請を操作する権限がありません / You may not act on this application"
MSG_NO_FORM = "この手続の申請書はまだ公開されていません / This procedure has no published form yet"
MSG_COUNTER_ONLY = (
    "この手続は窓口でのみ受け付けます / This procedure is accepted only at the counter"
)
MSG_NOT_EDITABLE = "この申請は今は変更できません / This application cannot be changed now"
MSG_TOO_BIG = "ファイルが大きすぎます（10MBまで） / The file is too large (10 MB at most)"
MSG_TOO_MANY = "添付できるファイルの数を超えています / Too many attachments"
MSG_UNKNOWN_FILE_FIELD = "添付する項目が見つかりません / No such attachment field"
MSG_NOT_RESIDENT = "住民の記録がありません / There is no current resident record"


def _require_admin(actor) -> None:
    if not has_role(actor, ADMIN):
        raise PermissionDenied(MSG_NOT_ADMIN)


def _require_staff(actor) -> None:
    if not is_staff_member(actor):
        raise PermissionDenied(MSG_NOT_STAFF)


# --- catalogue and forms -------------------------------------------------------------------------


def refresh_search_text(procedure: Procedure) -> None:
    """Keep the normalised search text in step with the names and descriptions."""
    parts = [
        procedure.name_ja,
        procedure.name_en,
        procedure.description_ja,
        procedure.description_en,
    ]
    procedure.search_text = search_key(" ".join(p for p in parts if p))


def save_procedure(*, procedure: Procedure) -> Procedure:
    """Create or update a catalogue entry (admin page, Django admin and the seed use this)."""
    refresh_search_text(procedure)
    procedure.full_clean()
    procedure.save()
    return procedure


def _definition_or_error(definition: Any) -> dict:
    problems = formschema.definition_problems(definition)
    if problems:
        raise ValidationError({"definition": problems})
    return definition


@transaction.atomic
def save_draft_form(*, procedure: Procedure, definition: Any, actor) -> FormDefinition:
    """Validate a definition and store it as the procedure's draft (creating the next version)."""
    _require_admin(actor)
    definition = _definition_or_error(definition)
    Procedure.objects.select_for_update().get(pk=procedure.pk)
    draft = selectors.draft_form(procedure)
    if draft is None:
        latest = procedure.forms.aggregate(v=Max("version"))["v"] or 0
        draft = FormDefinition(procedure=procedure, version=latest + 1, created_by=actor)
    draft.definition = definition
    draft.save()
    audit.record(action="procedures.form_saved", actor=actor, obj=draft)
    return draft


@transaction.atomic
def update_form(*, form: FormDefinition, definition: Any, actor) -> FormDefinition:
    """Change a draft version. A published version is refused (and the database refuses too)."""
    _require_admin(actor)
    form = FormDefinition.objects.select_for_update().get(pk=form.pk)
    if form.is_published:
        raise ValidationError({"definition": [MSG_PUBLISHED]})
    form.definition = _definition_or_error(definition)
    form.save(update_fields=["definition", "updated_at"])
    return form


@transaction.atomic
def publish_form(*, form: FormDefinition, actor) -> FormDefinition:
    """Make a draft the version new applications are filed on; from now on it is immutable."""
    _require_admin(actor)
    form = FormDefinition.objects.select_for_update().get(pk=form.pk)
    if form.is_published:
        raise ValidationError({"definition": [MSG_PUBLISHED]})
    _definition_or_error(form.definition)
    form.published_at = timezone.now()
    form.save(update_fields=["published_at", "updated_at"])
    audit.record(action="procedures.form_published", actor=actor, obj=form)
    return form


@transaction.atomic
def set_identity_level(*, procedure: Procedure, level: str, actor) -> Procedure:
    """What a resident must show to file the procedure online (the form designer sets it)."""
    from .models import IdentityLevel

    _require_admin(actor)
    if level not in IdentityLevel.values:
        raise ValidationError({"identity_level": [gettext("本人確認の水準を選んでください。")]})
    procedure = Procedure.objects.select_for_update().get(pk=procedure.pk)
    previous = procedure.identity_level
    procedure.identity_level = level
    procedure.save(update_fields=["identity_level"])
    audit.record(
        action="procedures.identity_level_set",
        actor=actor,
        obj=procedure,
        details={"from": previous, "to": level},
    )
    return procedure


# --- applications --------------------------------------------------------------------------------


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
        raise ValidationError(MSG_NOT_RESIDENT)
    if filed_by is not None:
        _require_staff(filed_by)
    elif procedure.counter_only:
        raise ValidationError(MSG_COUNTER_ONLY)
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
        comment="窓口で作成 / Started at the counter" if filed_by else "",
        visible_to_applicant=True,
    )
    return application


def _may_act_as_applicant(application: Application, actor) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    if application.user_id == actor.pk:
        return True
    # At the counter the clerk keys in what the resident says and the resident confirms.
    return application.is_counter_filing and is_staff_member(actor)


def _lock(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure", "form", "applicant")
        .get(pk=application.pk)
    )


def _context(application: Application, *, staff: bool) -> formschema.Context:
    counts: dict[str, int] = {}
    for field_id in application.attachments.values_list("field_id", flat=True):
        counts[field_id] = counts.get(field_id, 0) + 1
    dynamic = selectors.dynamic_choices(application.form.definition, application.applicant)
    return formschema.Context(
        staff=staff,
        dynamic_choices={k: [v for v, _label in pairs] for k, pairs in dynamic.items()},
        attachment_counts=counts,
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
    for field in definition["fields"]:
        # My Number is never kept in the answers; the residents app holds it encrypted.
        if field["type"] == "mynumber" and typed.get(field["id"]):
            typed[field["id"]] = "********" + str(typed[field["id"]])[-4:]
    application.answers = application.answers | typed


@transaction.atomic
def save_draft(*, application: Application, answers: dict, actor) -> Application:
    """Save answers without checking them, so the resident can resume later."""
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE)
    _store_answers(
        application, answers, staff=is_staff_member(actor) and application.is_counter_filing
    )
    application.save(update_fields=["answers", "updated_at"])
    return application


def check_answers(
    *, application: Application, answers: dict, staff: bool = False
) -> tuple[dict, dict]:
    """(cleaned, errors) of answers against the version the application was filed on."""
    return formschema.validate_answers(
        application.form.definition, answers, _context(application, staff=staff)
    )


def _move(
    application: Application, target: str, *, actor, role: str, comment: str = ""
) -> CaseEvent:
    """The one place a state changes: checks the table, writes the event, tells the resident."""
    workflow.check_transition(application.state, target, role)
    previous = application.state
    application.state = target
    application.save(update_fields=["state", "updated_at"])
    event = CaseEvent.objects.create(
        application=application,
        actor=actor if actor is not None and actor.is_authenticated else None,
        from_state=previous,
        to_state=target,
        comment=comment,
    )
    recipient = application.user or application.applicant.user
    if recipient is not None and (actor is None or actor.pk != recipient.pk):
        label = Application.State(target).label
        body = f"{application.procedure.name_ja}（受付番号 {application.reference}）: {label}"
        if comment:
            body += f"\n\n{comment}"
        notify(
            user=recipient,
            subject=f"申請の状況が変わりました: {label}",
            body=body,
            link=reverse("procedures:application_detail", args=[application.pk]),
        )
    return event


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
        application.save(update_fields=["answers", "updated_at"])
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
        raise ValidationError(MSG_NOT_EDITABLE)
    _clean_for_submission(application, answers, staff=False)
    application.save(update_fields=["answers", "updated_at"])
    return signing_payload(application, signed_at=timezone.localtime().isoformat())


def _check_signature(application: Application, signature) -> None:
    """The signature must be over this application as it is now, by the applicant."""
    from django.conf import settings

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
        application.save(update_fields=["answers", "updated_at"])
        _move(application, workflow.RESUBMITTED, actor=actor, role=workflow.APPLICANT)
        return application
    today = timezone.localdate()
    application.submitted_at = timezone.now()
    application.due_on = add_business_days(today, application.procedure.processing_days)
    application.fee_yen = formschema.fee_for(
        application.form.definition,
        application.answers,
        base_fee=application.procedure.fee_yen or 0,
    )
    application.save(update_fields=["answers", "submitted_at", "due_on", "fee_yen", "updated_at"])
    _move(application, workflow.SUBMITTED, actor=actor, role=workflow.APPLICANT)
    if application.fee_yen > 0:
        from payments.services import create_fee_charge

        charge = create_fee_charge(
            payer=application.applicant,
            amount=application.fee_yen,
            description=f"{application.procedure.name_ja} 手数料（{application.reference}）",
            origin=application.origin,
        )
        application.charge_id = charge.pk
        application.save(update_fields=["charge_id", "updated_at"])
        _move(application, workflow.AWAITING_PAYMENT, actor=None, role=workflow.SYSTEM)
    else:
        _move(application, workflow.IN_REVIEW, actor=None, role=workflow.SYSTEM)
    return application


@transaction.atomic
def confirm_at_counter(
    *, application: Application, clerk, answers: dict | None = None
) -> Application:
    """The walk-in resident confirmed the prefilled application on the counter screen."""
    _require_staff(clerk)
    application = _lock(application)
    if not application.is_counter_filing:
        raise ValidationError(MSG_NOT_EDITABLE)
    application.counter_confirmed_at = timezone.now()
    application.save(update_fields=["counter_confirmed_at", "updated_at"])
    audit.record(action="procedures.counter_confirmed", actor=clerk, obj=application)
    return submit_application(application=application, actor=clerk, answers=answers)


@transaction.atomic
def fee_settled(*, origin: str, charge_id: int) -> Application | None:
    """payments calls this once the fee charge is fully paid: the case goes to the clerks.
    Applying it twice has the effect of once."""
    prefix = "procedures.application:"
    if not origin.startswith(prefix):
        return None
    application = (
        Application.objects.select_for_update().filter(pk=int(origin[len(prefix) :])).first()
    )
    if application is None or application.state != workflow.AWAITING_PAYMENT:
        return application
    if application.charge_id is None:
        application.charge_id = charge_id
        application.save(update_fields=["charge_id", "updated_at"])
    _move(
        application,
        workflow.IN_REVIEW,
        actor=None,
        role=workflow.SYSTEM,
        comment="手数料の入金を確認しました / Fee paid",
    )
    return application


@transaction.atomic
def withdraw(*, application: Application, actor, comment: str = "") -> Application:
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    _move(application, workflow.WITHDRAWN, actor=actor, role=workflow.APPLICANT, comment=comment)
    return application


@transaction.atomic
def decide(*, application: Application, target: str, clerk, comment: str = "") -> Application:
    """A clerk's action on a case: request correction (補正), approve, reject or complete.

    Approving a certificate request queues the certificate: it is issued by the worker once the
    clerk has approved (never automatically after payment, because the clerk checks that the
    applicant may receive the optional items such as 本籍), and the case is then completed.
    """
    if not has_role(clerk, CLERK, SUPERVISOR, ADMIN):
        raise PermissionDenied(MSG_NOT_STAFF)
    application = _lock(application)
    if target in (workflow.CORRECTION_REQUESTED, workflow.REJECTED) and not comment.strip():
        raise ValidationError(
            {"comment": ["理由を書いてください / Write the reason for the resident"]}
        )
    _move(application, target, actor=clerk, role=workflow.CLERK, comment=comment)
    audit.record(action=f"procedures.{target}", actor=clerk, obj=application)
    if target == workflow.APPROVED and application.procedure.certificate_kind:
        from .tasks import issue_certificate

        application_id = application.pk
        transaction.on_commit(lambda: issue_certificate.delay(application_id))
    return application


@transaction.atomic
def assign(*, application: Application, clerk, assignee=None) -> Application:
    """Assign a case (to the clerk by default). Not a state change, but still written down."""
    _require_staff(clerk)
    assignee = assignee or clerk
    _require_staff(assignee)
    application = _lock(application)
    application.assignee = assignee
    application.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(
        application=application,
        actor=clerk,
        from_state=application.state,
        to_state=application.state,
        comment=f"担当: {assignee.display_name or assignee.email}",
        visible_to_applicant=False,
    )
    return application


# --- attachments ---------------------------------------------------------------------------------


@transaction.atomic
def add_attachment(*, application: Application, field_id: str, upload, actor) -> Attachment:
    """Store an uploaded file privately after checking its size and its real type (magic
    numbers: an executable renamed .pdf is refused)."""
    application = _lock(application)
    if not _may_act_as_applicant(application, actor) and not is_staff_member(actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        raise ValidationError(MSG_NOT_EDITABLE)
    fields = {f["id"]: f for f in application.form.definition["fields"] if f["type"] == "file"}
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
        raise ValidationError(MSG_NOT_EDITABLE)
    attachment.file.delete(save=False)
    attachment.delete()


# --- seal registration ---------------------------------------------------------------------------


@transaction.atomic
def register_seal(
    *, resident, registered_on, number: str, impression_svg: str = ""
) -> SealRegistration:
    """印鑑登録 (a minimal register so 印鑑登録証明書 can be issued)."""
    from .certificates.assets import seal_impression_svg

    return SealRegistration.objects.create(
        resident=resident,
        number=number,
        registered_on=registered_on,
        impression_svg=impression_svg or seal_impression_svg(resident.family_name),
    )
