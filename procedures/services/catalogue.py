"""The catalogue and its forms: procedures saved with their search text, draft form versions,
publishing by a second person (now or on a date, the beat job ``publish_due_forms``), a
procedure's settings and identity level (``procedures.change_procedure`` /
``procedures.change_formdefinition``; publishing ``procedures.publish_formdefinition``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from cityhall import audit

from .. import formschema, search, selectors
from ..models import (
    FormDefinition,
    Procedure,
)
from .common import (
    MANAGE_FORMS,
    MANAGE_PROCEDURES,
    _require,
)

MSG_PUBLISHED = gettext_lazy("公開済みの様式は変更できません。新しい版を作ってください。")
MSG_NOT_ADMIN = gettext_lazy("様式を管理できるのは管理者だけです。")


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
    from ..models import IdentityLevel

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
