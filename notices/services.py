"""Every change of state in notices: templates, sends and their approval, residents' choices,
consent, LINE links. One function per use case, keyword arguments, one transaction."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall import audit

from . import delivery, segments, templating
from .eventtypes import EVENT_TYPES
from .models import (
    SUBSCRIBABLE_TOPICS,
    Channel,
    Consent,
    Delivery,
    LineBatch,
    LineLink,
    Preference,
    RecipientList,
    RecipientListEntry,
    Send,
    SendEvent,
    Template,
    TemplateVersion,
    Topic,
)

COMPOSE = "notices.compose_send"
APPROVE = "notices.approve_send"


def approval_threshold() -> int:
    return int(settings.NOTICES_APPROVAL_THRESHOLD)


def _require(actor, permission: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm(permission):
        raise PermissionDenied


# --- templates -----------------------------------------------------------------------------

TEXT_FIELDS = ("subject_ja", "subject_en", "body_ja", "body_en", "line_ja", "line_en")


def _check_texts(template: Template, texts: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    for name in ("subject_ja", "subject_en", "body_ja", "body_en"):
        if not (texts.get(name) or "").strip():
            errors[name] = _("入力してください。")
    if template.event_key:
        event = EVENT_TYPES.get(template.event_key)
        provided = (*segments.BASE_FIELDS, *(event.fields if event else ()))
        for name in TEXT_FIELDS:
            missing = templating.missing_fields([texts.get(name, "")], provided)
            if missing:
                errors[name] = _(
                    "このできごとでは使えない差し込み項目です: %(fields)s（使えるもの: %(ok)s）"
                ) % {
                    "fields": "、".join(f"(({m}))" for m in missing),
                    "ok": "、".join(f"(({p}))" for p in provided),
                }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_template(
    *,
    key: str,
    name: str,
    topic: str,
    actor,
    texts: dict[str, str],
    event_key: str = "",
    uses_sensitive_data: bool = False,
) -> Template:
    _require(actor, COMPOSE)
    if topic not in Topic.values:
        raise ValidationError({"topic": _("分野を選んでください。")})
    if event_key and event_key not in EVENT_TYPES:
        raise ValidationError({"event_key": _("できごとを選び直してください。")})
    if Template.objects.filter(key=key).exists():
        raise ValidationError({"key": _("この識別子はすでに使われています。")})
    template = Template(
        key=key,
        name=name,
        topic=topic,
        event_key=event_key,
        uses_sensitive_data=uses_sensitive_data,
    )
    _check_texts(template, texts)
    template.save()
    TemplateVersion.objects.create(
        template=template, number=1, created_by=actor, **{f: texts.get(f, "") for f in TEXT_FIELDS}
    )
    return template


@transaction.atomic
def save_template_version(*, template: Template, actor, texts: dict[str, str]) -> TemplateVersion:
    """A new version (the old ones stay as they were: sends keep theirs)."""
    _require(actor, COMPOSE)
    template = Template.objects.select_for_update().get(pk=template.pk)
    _check_texts(template, texts)
    latest = template.latest_version()
    return TemplateVersion.objects.create(
        template=template,
        number=(latest.number if latest else 0) + 1,
        created_by=actor,
        **{f: texts.get(f, "") for f in TEXT_FIELDS},
    )


# --- recipient lists (CSV) -----------------------------------------------------------------


@transaction.atomic
def upload_recipient_list(*, name: str, codes: list[str], actor) -> RecipientList:
    """A list of resident codes (from an uploaded CSV) for segments."""
    _require(actor, COMPOSE)
    clean = sorted({code.strip() for code in codes if code.strip()})
    if not clean:
        raise ValidationError({"file": _("住民票コードが1件もありません。")})
    bad = [code for code in clean if not (len(code) == 11 and code.isdigit())]
    if bad:
        raise ValidationError(
            {"file": _("住民票コードは11桁の数字です: %(codes)s") % {"codes": "、".join(bad[:5])}}
        )
    recipient_list = RecipientList.objects.create(name=name, uploaded_by=actor, size=len(clean))
    RecipientListEntry.objects.bulk_create(
        [RecipientListEntry(recipient_list=recipient_list, resident_code=c) for c in clean],
        batch_size=5000,
    )
    return recipient_list


# --- sends ---------------------------------------------------------------------------------


def _event(send: Send, previous: str, actor=None, comment: str = "") -> None:
    SendEvent.objects.create(
        send=send,
        from_state=previous,
        to_state=send.state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        comment=comment[:300],
    )


def _move(send: Send, target: str, *, actor=None, comment: str = "", fields=()) -> Send:
    previous = send.state
    send.state = target
    send.save(update_fields=["state", *fields])
    _event(send, previous, actor, comment)
    return send


def _lock(send: Send) -> Send:
    return (
        Send.objects.select_for_update()
        .select_related("template_version__template")
        .get(pk=send.pk)
    )


@transaction.atomic
def compose_send(*, template: Template, actor, emergency: bool = False) -> Send:
    _require(actor, COMPOSE)
    version = template.latest_version()
    if version is None or not template.active:
        raise ValidationError({"template": _("このひな形は使えません。")})
    if template.event_key:
        raise ValidationError(
            {"template": _("できごと用のひな形は、業務システムからだけ送られます。")}
        )
    if emergency and template.topic != Topic.DISASTER:
        raise ValidationError({"emergency": _("緊急配信は「防災」のお知らせだけです。")})
    send = Send.objects.create(
        template_version=version,
        topic=template.topic,
        emergency=emergency,
        uses_sensitive_data=template.uses_sensitive_data,
        as_of=timezone.localdate(),
        created_by=actor,
    )
    _event(send, "", actor)
    return send


@transaction.atomic
def set_segment(*, send: Send, data: dict, actor, as_of: date | None = None) -> dict[str, int]:
    """Choose who gets the notice; returns the count (residents, reachable)."""
    _require(actor, COMPOSE)
    send = _lock(send)
    if send.state != Send.State.DRAFT:
        raise ValidationError(_("作成中の配信だけ変更できます。"))
    spec = segments.parse(data)
    if spec.is_empty:
        raise ValidationError({"__all__": _("条件を1つ以上選んでください。")})
    if (
        spec.recipient_list is not None
        and not RecipientList.objects.filter(pk=spec.recipient_list).exists()
    ):
        raise ValidationError({"recipient_list": _("配信先リストを選び直してください。")})
    version = send.template_version
    missing = templating.missing_fields(version.all_texts(), spec.fields)
    if missing:
        raise ValidationError(
            {
                "__all__": _(
                    "ひな形の差し込み項目 %(fields)s は、この条件では値がありません。"
                    "条件を足すか、ひな形を直してください。"
                )
                % {"fields": "、".join(f"(({m}))" for m in missing)}
            }
        )
    send.segment = spec.to_json()
    send.as_of = as_of or timezone.localdate()
    send.uses_sensitive_data = send.template_version.template.uses_sensitive_data or (
        spec.uses_sensitive_data
    )
    counted = segments.count(spec, send.as_of)
    send.recipient_count = counted["reachable"]
    send.save(update_fields=["segment", "as_of", "uses_sensitive_data", "recipient_count"])
    return counted


def preview(*, send: Send, resident, actor, request=None) -> dict[str, Any]:
    """The notice as this (real) resident would get it, in both languages and on every
    channel. Reading a resident's data to preview is a staff read: audited."""
    _require(actor, COMPOSE)
    spec = segments.parse(send.segment)
    found = (
        segments.periods(spec, send.as_of)
        .filter(resident_id=resident.pk)
        .values_list("personalisation", flat=True)
        .first()
    )
    if found is None:
        raise ValidationError({"resident": _("この住民は配信対象に含まれていません。")})
    values = {**(send.personalisation or {}), **found}
    audit.record(
        action="notices.preview",
        actor=actor,
        obj=resident,
        purpose="お知らせ配信の確認",
        request=request,
        details={"send": send.pk},
    )
    renderer = delivery.Renderer(send.template_version, send.pk)
    return {language: renderer.render(language, values) for language in ("ja", "en")}


def needs_second_person(send: Send) -> bool:
    return (send.recipient_count or 0) > approval_threshold()


@transaction.atomic
def submit(*, send: Send, actor, scheduled_at: datetime | None = None) -> Send:
    """Ask for approval; a send to at most N residents is approved by its author at once."""
    _require(actor, COMPOSE)
    send = _lock(send)
    if send.state != Send.State.DRAFT:
        raise ValidationError(_("作成中の配信だけ承認に回せます。"))
    if not send.segment:
        raise ValidationError(_("先に配信対象を選んでください。"))
    counted = segments.count(segments.parse(send.segment), send.as_of)
    send.recipient_count = counted["reachable"]
    send.scheduled_at = scheduled_at
    send.save(update_fields=["recipient_count", "scheduled_at"])
    if needs_second_person(send):
        return _move(send, Send.State.AWAITING_APPROVAL, actor=actor)
    if not actor.has_perm(APPROVE):
        return _move(send, Send.State.AWAITING_APPROVAL, actor=actor)
    return _approve(send, actor)


def _approve(send: Send, approver) -> Send:
    send.approved_by = approver
    send.approved_at = timezone.now()
    if send.scheduled_at is None or send.scheduled_at < send.approved_at:
        send.scheduled_at = send.approved_at
    _move(
        send,
        Send.State.SCHEDULED,
        actor=approver,
        fields=("approved_by", "approved_at", "scheduled_at"),
    )
    _queue_start(send)
    return send


def _queue_start(send: Send) -> None:
    from .tasks import start_send

    eta = send.scheduled_at
    transaction.on_commit(lambda: start_send.apply_async(args=[send.pk], eta=eta))


@transaction.atomic
def approve(*, send: Send, approver, scheduled_at: datetime | None = None) -> Send:
    """The second person's approval. Above the threshold the author may not approve."""
    _require(approver, APPROVE)
    send = _lock(send)
    if send.state != Send.State.AWAITING_APPROVAL:
        raise ValidationError(_("承認待ちの配信だけ承認できます。"))
    if needs_second_person(send) and send.created_by_id == approver.pk:
        raise ValidationError(
            _("%(n)s人を超える配信は、作成した職員とは別の職員が承認します。")
            % {"n": approval_threshold()}
        )
    if scheduled_at is not None:
        send.scheduled_at = scheduled_at
    return _approve(send, approver)


@transaction.atomic
def send_back(*, send: Send, approver, comment: str) -> Send:
    _require(approver, APPROVE)
    send = _lock(send)
    if send.state != Send.State.AWAITING_APPROVAL:
        raise ValidationError(_("承認待ちの配信だけ差し戻せます。"))
    if not comment.strip():
        raise ValidationError({"comment": _("差し戻す理由を入力してください。")})
    return _move(send, Send.State.DRAFT, actor=approver, comment=comment)


def start(*, send_id: int) -> Send | None:
    """Scheduled and due: write the deliveries and begin. Idempotent (a repeated start writes
    nothing twice and leaves a running send alone)."""
    with transaction.atomic():
        send = Send.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.state != Send.State.SCHEDULED:
            return send
        if send.scheduled_at and send.scheduled_at > timezone.now():
            return send
        delivery.materialize(send)
        send.started_at = timezone.now()
        _move(send, Send.State.SENDING, fields=("started_at",))
    return send


def finish_if_done(*, send_id: int) -> bool:
    with transaction.atomic():
        send = Send.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.state != Send.State.SENDING or delivery.remaining(send_id):
            return False
        send.finished_at = timezone.now()
        _move(send, Send.State.COMPLETED, fields=("finished_at",))
    return True


@transaction.atomic
def pause(*, send: Send, actor) -> Send:
    _require(actor, COMPOSE)
    send = _lock(send)
    if send.state not in (Send.State.SENDING, Send.State.SCHEDULED):
        raise ValidationError(_("配信中か予約済みの配信だけ一時停止できます。"))
    send.personalisation = {**send.personalisation, "_paused_from": send.state}
    return _move(send, Send.State.PAUSED, actor=actor, fields=("personalisation",))


@transaction.atomic
def resume(*, send: Send, actor) -> Send:
    _require(actor, COMPOSE)
    send = _lock(send)
    if send.state != Send.State.PAUSED:
        raise ValidationError(_("一時停止中の配信だけ再開できます。"))
    shared = dict(send.personalisation)
    target = shared.pop("_paused_from", Send.State.SENDING)
    send.personalisation = shared
    _move(send, target, actor=actor, fields=("personalisation",))
    if target == Send.State.SCHEDULED:
        _queue_start(send)
    else:
        from .tasks import dispatch_send

        transaction.on_commit(lambda: dispatch_send.delay(send.pk))
    return send


@transaction.atomic
def cancel(*, send: Send, actor, comment: str = "") -> Send:
    """Stop a send for good: what has not gone out yet never will."""
    _require(actor, COMPOSE)
    send = _lock(send)
    if send.state in (Send.State.COMPLETED, Send.State.CANCELLED):
        raise ValidationError(_("この配信はもう取り消せません。"))
    waiting = Delivery.objects.filter(
        send=send,
        status__in=[Delivery.Status.CREATED, Delivery.Status.TEMPORARY_FAILURE],
    )
    ids = list(waiting.values_list("id", flat=True))
    delivery._mark(ids, Delivery.Status.CANCELLED, "配信の取り消し")
    LineBatch.objects.filter(send=send, status=LineBatch.Status.CREATED).update(
        status=LineBatch.Status.FAILED, last_error="cancelled"
    )
    send.finished_at = timezone.now()
    return _move(
        send,
        Send.State.CANCELLED,
        actor=actor,
        comment=comment,
        fields=("finished_at",),
    )


# --- residents' choices --------------------------------------------------------------------


def default_preference(user) -> Preference:
    return Preference(
        user=user,
        topics=[str(t) for t in SUBSCRIBABLE_TOPICS],
        channels=[Channel.INBOX],
        language="ja",
    )


def preference_for(user) -> Preference:
    return Preference.objects.filter(user=user).first() or default_preference(user)


@transaction.atomic
def save_preferences(
    *,
    user,
    topics: list[str],
    channels: list[str],
    language: str,
    quiet_start: time | None,
    quiet_end: time | None,
) -> Preference:
    errors: dict[str, str] = {}
    if any(t not in [str(s) for s in SUBSCRIBABLE_TOPICS] for t in topics):
        errors["topics"] = _("分野を選び直してください。")
    if any(c not in Channel.values for c in channels):
        errors["channels"] = _("受け取る方法を選び直してください。")
    if Channel.LINE in channels and not LineLink.objects.filter(user=user).exists():
        errors["channels"] = _("LINEで受け取るには、先にLINEと連携してください。")
    if (quiet_start is None) != (quiet_end is None):
        errors["quiet_end"] = _("通知しない時間帯は、始まりと終わりの両方を入力してください。")
    elif quiet_start is not None and quiet_start == quiet_end:
        errors["quiet_end"] = _("始まりと終わりに同じ時刻は選べません。")
    if language not in ("ja", "en"):
        errors["language"] = _("言語を選んでください。")
    if errors:
        raise ValidationError(errors)
    preference, _created = Preference.objects.select_for_update().get_or_create(
        user=user, defaults={"topics": [], "channels": []}
    )
    email_was = Channel.EMAIL in (preference.channels or [])
    preference.topics = sorted(set(topics))
    preference.channels = sorted({Channel.INBOX, *channels})
    preference.language = language
    preference.quiet_start, preference.quiet_end = quiet_start, quiet_end
    if Channel.EMAIL in channels and not email_was:
        # Choosing e-mail again is the resident saying the address works.
        preference.email_bad_since = None
    preference.save()
    return preference


def has_consent(user) -> bool:
    return segments.live_consent().filter(user=user).exists()


@transaction.atomic
def grant_consent(*, user, resident) -> Consent:
    existing = segments.live_consent().filter(resident=resident).first()
    if existing is not None:
        return existing
    return Consent.objects.create(user=user, resident=resident, purpose=Consent.Purpose.TAX_BENEFIT)


@transaction.atomic
def withdraw_consent(*, user) -> int:
    """Withdraw at once: the resident is out of every tax- or benefit-based segment from now,
    and what such sends have not yet delivered to them is cancelled."""
    now = timezone.now()
    withdrawn = segments.live_consent().filter(user=user).update(withdrawn_at=now)
    pending = Delivery.objects.filter(
        user=user,
        send__uses_sensitive_data=True,
        status__in=[Delivery.Status.CREATED, Delivery.Status.TEMPORARY_FAILURE],
    ).values_list("id", flat=True)
    delivery._mark(list(pending), Delivery.Status.CANCELLED, "同意の撤回")
    return withdrawn


def user_from_unsubscribe_token(token: str) -> int | None:
    try:
        data = signing.loads(token, salt=delivery.UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return int(data.get("u")) if isinstance(data, dict) and data.get("u") else None


@transaction.atomic
def unsubscribe_email(*, user_id: int) -> bool:
    """One-click unsubscribe (RFC 8058): no more notice e-mail; the inbox stays."""
    preference = Preference.objects.select_for_update().filter(user_id=user_id).first()
    if preference is None or Channel.EMAIL not in preference.channels:
        return False
    preference.channels = [c for c in preference.channels if c != Channel.EMAIL]
    preference.save(update_fields=["channels", "updated_at"])
    return True


@transaction.atomic
def mark_read(*, delivery_row: Delivery) -> None:
    if delivery_row.read_at is None:
        delivery_row.read_at = timezone.now()
        delivery_row.save(update_fields=["read_at"])


# --- LINE links ----------------------------------------------------------------------------


@transaction.atomic
def link_line(
    *, user, line_user_id: str, display_name: str = "", following: bool = False
) -> LineLink:
    other = LineLink.objects.filter(line_user_id=line_user_id).exclude(user=user).first()
    if other is not None:
        raise ValidationError(_("このLINEアカウントは別の利用者と連携しています。"))
    link, _created = LineLink.objects.update_or_create(
        user=user,
        defaults={
            "line_user_id": line_user_id,
            "display_name": display_name,
            "bad_since": None,
            "following": following,
            "following_changed_at": timezone.now(),
        },
    )
    return link


@transaction.atomic
def unlink_line(*, user) -> None:
    LineLink.objects.filter(user=user).delete()
    preference = Preference.objects.filter(user=user).first()
    if preference is not None and Channel.LINE in preference.channels:
        preference.channels = [c for c in preference.channels if c != Channel.LINE]
        preference.save(update_fields=["channels", "updated_at"])


def set_following(*, line_user_id: str, following: bool) -> bool:
    """Webhook follow / unfollow (a block shows as unfollow). Returns whether a link knew it."""
    changed = LineLink.objects.filter(line_user_id=line_user_id).update(
        following=following,
        following_changed_at=timezone.now(),
        **({"bad_since": None} if following else {}),
    )
    return bool(changed)
