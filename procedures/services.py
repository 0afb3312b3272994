"""Every change of state in procedures: one function per use case, each in one transaction.

Kept in one file: every use case moves an application through the one state machine (``_move``)
under the same application lock and audit rules; certificates and the designer's publishing are
apart (``certificates/``, ``designer``). It is the next candidate for a split by concern
(catalogue, filing, casework).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django.utils.translation import gettext as _

from cityhall import audit
from cityhall.dates import add_business_days
from cityhall.events import raise_event
from cityhall.japanese import normalize_text
from cityhall.roles import is_staff_member, require_permission
from residents import mynumber as mynumber_rules
from residents.services import register_key_rotation

from . import casekinds, formschema, images, search, selectors, sniff, workflow
from .models import (
    Application,
    Attachment,
    CaseEvent,
    Certificate,
    FormDefinition,
    Procedure,
    SealRegistration,
)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_APPLICATION = 20

MSG_PUBLISHED = gettext_lazy("公開済みの様式は変更できません。新しい版を作ってください。")
MSG_NOT_ADMIN = gettext_lazy("様式を管理できるのは管理者だけです。")
MSG_NOT_STAFF = gettext_lazy("この操作は職員だけができます。")
MSG_NOT_YOURS = gettext_lazy("この申請を操作する権限がありません。")
MSG_NO_FORM = gettext_lazy("この手続の申請書はまだ公開されていません。")
MSG_COUNTER_ONLY = gettext_lazy("この手続は窓口でのみ受け付けます。")
MSG_ONLINE_ONLY = gettext_lazy("この手続はオンラインでのみ受け付けます。")
MSG_NOT_EDITABLE = gettext_lazy("この申請は今は変更できません。")
MSG_TOO_BIG = gettext_lazy("ファイルが大きすぎます（10MBまで）。")
MSG_TOO_MANY = gettext_lazy("添付できるファイルの数を超えています。")
MSG_UNKNOWN_FILE_FIELD = gettext_lazy("添付する項目が見つかりません。")
MSG_NOT_RESIDENT = gettext_lazy("住民の記録がありません。")
MSG_MYNUMBER_NEEDS_REVEALER = gettext_lazy(
    "個人番号を記載する窓口での請求は、個人番号を扱う権限のある職員が承認します。"
)
MSG_MYNUMBER_FOUR_EYES = gettext_lazy(
    "個人番号を記載する窓口での請求は、受け付けた職員とは別の職員が承認します。"
)
MSG_CERTIFICATE_MYNUMBER = gettext_lazy(
    "この証明書には個人番号が記載されています。ダウンロードできるのは申請者本人と、"
    "個人番号を扱う権限のある職員だけです。"
)
MSG_CERTIFICATE_NOT_YOURS = gettext_lazy("この証明書をダウンロードする権限がありません。")
MSG_PURPOSE_REQUIRED = gettext_lazy("利用目的を選んでください。")


# The permission each family of use cases needs, held through the role groups.
MANAGE_FORMS = "procedures.change_formdefinition"
MANAGE_PROCEDURES = "procedures.change_procedure"
WORK_CASES = "procedures.change_application"


def _require(actor, permission: str, message) -> None:
    try:
        require_permission(actor, permission)
    except PermissionDenied:
        raise PermissionDenied(message) from None


# --- catalogue and forms -------------------------------------------------------------------------


def refresh_search_text(procedure: Procedure) -> None:
    """Keep the normalised search text in step with the names, reading, other words and
    descriptions (see procedures.search)."""
    procedure.search_text, procedure.search_names = search.index_texts(
        names=[procedure.name_ja, procedure.name_en, procedure.name_kana],
        others=[procedure.keywords, procedure.description_ja, procedure.description_en],
    )


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


MSG_STALE = gettext_lazy(
    "この様式は、あなたが開いたあとで別の人が保存しました（第%(v)s版）。"
    "最新の版を開き直してから、もう一度変更してください。"
)
MSG_NOT_PUBLISHER = gettext_lazy("様式を公開できるのは、公開の権限がある職員だけです。")
MSG_FOUR_EYES = gettext_lazy(
    "この版を保存した人は公開できません。公開の権限がある別の職員が確かめて公開します。"
)
MSG_OLDER_THAN_LIVE = gettext_lazy(
    "公開中の第%(v)s版より古い版は公開できません。新しい版として保存し直してください。"
)
MSG_BLOCKED = gettext_lazy("公開する前に直すことがあります。")
MSG_DATE_PAST = gettext_lazy("公開する日は今日以降の日付にしてください。")
MSG_NOT_SCHEDULED = gettext_lazy("この版は公開の予約がされていません。")


@transaction.atomic
def save_draft_form(
    *, procedure: Procedure, definition: Any, actor, base_version: int | None = None
) -> FormDefinition:
    """Store a definition as a new draft version (every save of the designer is one).

    `base_version` is the version the person was looking at: when someone else saved a newer
    one meanwhile, the save is refused instead of silently undoing their change.
    """
    _require(actor, MANAGE_FORMS, MSG_NOT_ADMIN)
    definition = _definition_or_error(definition)
    Procedure.objects.select_for_update().get(pk=procedure.pk)
    latest = procedure.forms.aggregate(v=Max("version"))["v"] or 0
    if base_version is not None and base_version != latest:
        raise ValidationError({"definition": [MSG_STALE % {"v": latest}]})
    draft = FormDefinition.objects.create(
        procedure=procedure, version=latest + 1, definition=definition, created_by=actor
    )
    audit.record(
        action="procedures.form_saved",
        actor=actor,
        obj=draft,
        details={"version": draft.version, "base": base_version},
    )
    return draft


def _require_publisher(actor, form: FormDefinition) -> None:
    if not (
        actor and actor.is_authenticated and actor.has_perm("procedures.publish_formdefinition")
    ):
        raise PermissionDenied(MSG_NOT_PUBLISHER)
    if form.created_by_id is not None and form.created_by_id == actor.pk:
        raise ValidationError(MSG_FOUR_EYES, code="four_eyes")


def _publish_refusal(form: FormDefinition) -> tuple[str, list[str]] | None:
    """Why this version may not go live now ("older" or "blocked" and the messages), or None."""
    live = selectors.published_form(form.procedure)
    if live is not None and live.version > form.version:
        return "older", [MSG_OLDER_THAN_LIVE % {"v": live.version}]
    problems = selectors.publish_checklist(form.procedure, form.definition)
    if problems:
        return "blocked", [str(MSG_BLOCKED)] + [p.message for p in problems]
    return None


@transaction.atomic
def publish_form(*, form: FormDefinition, actor, publish_on=None) -> FormDefinition:
    """A second person publishes a version: now, or on `publish_on` (the beat job
    `procedures.publish_due_forms` makes it live that day). Four eyes: the person who saved the
    version may not (the database refuses it too); the publisher holds publish_formdefinition.
    Nothing on the checklist may be left (selectors.publish_checklist)."""
    form = FormDefinition.objects.select_for_update().select_related("procedure").get(pk=form.pk)
    _require_publisher(actor, form)
    if form.is_published:
        raise ValidationError({"definition": [MSG_PUBLISHED]})
    today = timezone.localdate()
    if publish_on is not None and publish_on < today:
        raise ValidationError({"publish_on": [MSG_DATE_PAST]})
    refusal = _publish_refusal(form)
    if refusal is not None:
        raise ValidationError(refusal[1], code=refusal[0])
    form.approved_by = actor
    form.approved_at = timezone.now()
    if publish_on is not None and publish_on > today:
        form.publish_on = publish_on
        form.save(update_fields=["approved_by", "approved_at", "publish_on", "updated_at"])
        audit.record(
            action="procedures.form_scheduled",
            actor=actor,
            obj=form,
            details={"version": form.version, "publish_on": publish_on.isoformat()},
        )
        return form
    form.publish_on = None
    form.save(update_fields=["approved_by", "approved_at", "publish_on", "updated_at"])
    return _go_live(form, actor=actor)


def _go_live(form: FormDefinition, *, actor) -> FormDefinition:
    """Make an approved version the one new applications are filed on. Older versions still
    scheduled are superseded: their schedule is cancelled."""
    form.published_at = timezone.now()
    form.save(update_fields=["published_at", "updated_at"])
    for older in FormDefinition.objects.select_for_update().filter(
        procedure=form.procedure,
        published_at__isnull=True,
        publish_on__isnull=False,
        version__lt=form.version,
    ):
        _unschedule(older, actor=actor, reason="superseded")
    procedure = Procedure.objects.select_for_update().get(pk=form.procedure_id)
    if not procedure.is_active:
        # A new procedure enters the catalogue with its first published form.
        procedure.is_active = True
        procedure.save(update_fields=["is_active"])
    audit.record(
        action="procedures.form_published",
        actor=actor,
        obj=form,
        details={"version": form.version, "approved_by": form.approved_by_id},
    )
    return form


def _unschedule(form: FormDefinition, *, actor, reason: str) -> None:
    previous = form.publish_on
    form.publish_on = None
    form.approved_by = None
    form.approved_at = None
    form.save(update_fields=["publish_on", "approved_by", "approved_at", "updated_at"])
    audit.record(
        action="procedures.form_schedule_cancelled",
        actor=actor,
        obj=form,
        details={
            "version": form.version,
            "publish_on": previous.isoformat() if previous else None,
            "reason": reason,
        },
    )


@transaction.atomic
def cancel_schedule(*, form: FormDefinition, actor) -> FormDefinition:
    """Take back a scheduled publication (any holder of the publish permission may)."""
    if not actor.has_perm("procedures.publish_formdefinition"):
        raise PermissionDenied(MSG_NOT_PUBLISHER)
    form = FormDefinition.objects.select_for_update().get(pk=form.pk)
    if not form.is_scheduled:
        raise ValidationError(MSG_NOT_SCHEDULED)
    _unschedule(form, actor=actor, reason="cancelled")
    return form


def publish_due_forms(*, today=None) -> dict[str, int]:
    """Beat job: make live every scheduled version whose date has come (not before). Each in its
    own transaction, rows taken with SKIP LOCKED so two beat runs never publish one twice; a
    version superseded by a newer live one, or one that something now blocks (the fee's
    revenue was removed), has its schedule cancelled and written to the audit log."""
    today = today or timezone.localdate()
    done = {"published": 0, "cancelled": 0}
    while True:
        with transaction.atomic():
            form = (
                FormDefinition.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("procedure", "approved_by")
                .filter(published_at__isnull=True, publish_on__isnull=False, publish_on__lte=today)
                .order_by("publish_on", "procedure_id", "version")
                .first()
            )
            if form is None:
                return done
            refusal = _publish_refusal(form)
            if refusal is not None:
                _unschedule(form, actor=None, reason=refusal[0])
                done["cancelled"] += 1
                continue
            _go_live(form, actor=form.approved_by)
            done["published"] += 1


@transaction.atomic
def save_procedure_settings(*, procedure: Procedure, actor, changed: list[str]) -> Procedure:
    """Create or change a procedure from the designer (/staff/admin/procedures/): what it is
    called, where it is filed, its fee and certificate. A new one stays out of the catalogue
    until its first form version is published."""
    _require(actor, MANAGE_PROCEDURES, MSG_NOT_ADMIN)
    created = procedure.pk is None
    if created:
        procedure.is_active = False
    save_procedure(procedure=procedure)
    audit.record(
        action="procedures.procedure_created" if created else "procedures.procedure_changed",
        actor=actor,
        obj=procedure,
        details={"changed": sorted(changed)},
    )
    return procedure


@transaction.atomic
def set_identity_level(*, procedure: Procedure, level: str, actor) -> Procedure:
    """What a resident must show to file the procedure online (the form designer sets it)."""
    from .models import IdentityLevel

    _require(actor, MANAGE_PROCEDURES, MSG_NOT_ADMIN)
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
        sealed_mynumbers=sealed_mynumbers(application),
    )


def _sealing_context(application: Application) -> str:
    return f"application:{application.reference}:mynumbers"


def sealed_mynumbers(application: Application) -> dict[str, str]:
    """The My Numbers typed into the application (field id -> number), for code that has checked
    who is asking: the answers themselves hold only masks."""
    if not application.sealed_mynumbers:
        return {}
    from residents.services import unseal

    return json.loads(unseal(application.sealed_mynumbers, context=_sealing_context(application)))


def _seal_mynumbers(application: Application, numbers: dict[str, str]) -> None:
    from residents.services import seal

    application.sealed_mynumbers = (
        seal(json.dumps(numbers).encode(), context=_sealing_context(application))
        if numbers
        else None
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
    casekinds.transitioned(application, previous, target, actor)
    recipient = application.user or application.applicant.user
    if recipient is not None and (actor is None or actor.pk != recipient.pk):
        # The notices app tells the applicant (inbox, e-mail, LINE as they chose).
        state = Application.State(target)
        with translation.override("en"):
            status_en = str(state.label)
        with translation.override("ja"):
            status_ja = str(state.label)
        raise_event(
            "procedures.status_changed",
            user_id=recipient.pk,
            resident_id=application.applicant_id,
            dedupe_key=f"procedures.event:{event.pk}",
            context={
                "procedure": application.procedure.name_ja,
                "procedure_en": application.procedure.name_en or application.procedure.name_ja,
                "reference": application.reference,
                "status": status_ja,
                "status_en": status_en,
                "comment": comment,
                "link": reverse("procedures:application_detail", args=[application.pk]),
            },
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
def confirm_at_counter(
    *, application: Application, clerk, answers: dict | None = None
) -> Application:
    """The walk-in resident confirmed the prefilled application on the counter screen."""
    _require(clerk, WORK_CASES, MSG_NOT_STAFF)
    application = _lock(application)
    if not application.is_counter_filing:
        raise ValidationError(MSG_NOT_EDITABLE, code="not_editable")
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
        comment=gettext_noop("手数料の入金を確認しました"),
    )
    return application


@transaction.atomic
def withdraw(*, application: Application, actor, comment: str = "") -> Application:
    application = _lock(application)
    if not _may_act_as_applicant(application, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    _move(application, workflow.WITHDRAWN, actor=actor, role=workflow.APPLICANT, comment=comment)
    return application


def prints_mynumber(application: Application) -> bool:
    """Whether the application's certificate prints a My Number (asked for by the applicant)."""
    kind_key = application.procedure.certificate_kind
    if not kind_key:
        return False
    from .certificates import get as certificate_kind

    return certificate_kind(kind_key).prints_mynumber(application)


def mynumber_approval_problem(application: Application, approver) -> str:
    """Why `approver` may not approve this request for a certificate with My Number ("" if they
    may).

    A request the resident made from their own account sends the number only to them. At the
    counter the clerk keys the request in, so one clerk alone could obtain anyone's number:
    there a second staff member approves, one who holds reveal_mynumber and
    who neither filed nor confirmed the request (番号法19条, four eyes).
    """
    if not application.is_counter_filing:
        return ""
    if not approver.has_perm("residents.reveal_mynumber"):
        return str(MSG_MYNUMBER_NEEDS_REVEALER)
    handled = {application.filed_by_id} | set(
        application.events.filter(to_state=workflow.SUBMITTED).values_list("actor_id", flat=True)
    )
    if approver.pk in handled:
        return str(MSG_MYNUMBER_FOUR_EYES)
    return ""


@transaction.atomic
def decide(*, application: Application, target: str, clerk, comment: str = "") -> Application:
    """A clerk's action on a case: request correction (補正), approve, reject or complete.

    Approving a certificate request queues the certificate: it is issued by the worker once the
    clerk has approved (never automatically after payment, because the clerk checks that the
    applicant may receive the optional items such as 本籍), and the case is then completed.
    """
    _require(clerk, WORK_CASES, MSG_NOT_STAFF)
    application = _lock(application)
    if target in (workflow.CORRECTION_REQUESTED, workflow.REJECTED) and not comment.strip():
        raise ValidationError({"comment": [_("理由を書いてください。申請者に届きます。")]})
    if target == workflow.APPROVED and prints_mynumber(application):
        problem = mynumber_approval_problem(application, clerk)
        if problem:
            raise ValidationError(problem)
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
    _require(clerk, WORK_CASES, MSG_NOT_STAFF)
    assignee = assignee or clerk
    _require(assignee, WORK_CASES, MSG_NOT_STAFF)
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


# --- certificates --------------------------------------------------------------------------------

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
    from .certificates import storage

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


@register_key_rotation
def reseal_application_mynumbers(*, batch_size: int = 500) -> int:
    """Re-seal the My Numbers typed into applications under the first key (run by
    `manage.py rotate_mynumber_keys`); batches in their own transactions, resumable."""
    from residents.services import sealed_under_current_key

    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Application.objects.select_for_update()
                .filter(pk__gt=last_pk, sealed_mynumbers__isnull=False)
                .order_by("pk")
                .only("pk", "reference", "sealed_mynumbers")[:batch_size]
            )
            if not rows:
                return done
            for application in rows:
                if sealed_under_current_key(application.sealed_mynumbers):
                    continue
                _seal_mynumbers(application, sealed_mynumbers(application))
                application.save(update_fields=["sealed_mynumbers"])
                done += 1
            last_pk = rows[-1].pk
