"""Delivery: from a started send to one row per recipient × channel, and out to the channels.

1. `materialize` writes every delivery row of a send in one INSERT … SELECT from the segment
   (the register, the residents' choices, their channels and quiet hours), ON CONFLICT DO
   NOTHING: a repeated start adds nothing. Inbox rows are delivered as they are written.
2. `dispatch` takes due rows with FOR UPDATE SKIP LOCKED (several workers share the work) and
   hands them to the channels within each channel's rate limit:
   - e-mail: a row is marked `sending` and committed before the SMTP conversation; a worker
     that dies mid-send leaves it `sending`, and the sweep later calls it a technical failure
     instead of sending it again (at most once);
   - LINE: rows with the same text are put in batches of at most 500 (LineBatch) with a retry
     key, committed before the request; a batch is sent while its row is locked, and a retried
     batch reuses its key, so LINE accepts it once (a repeat answers 409 = already sent).
3. Temporary failures are tried again every 5 minutes for up to 4 hours (GOV.UK Notify's
   deliver_email schedule), then become technical failures; permanent ones mark the address
   bad (the e-mail address, or the LINE link) so later sends skip it.

Kept in one file: the three steps share the row states and the claim-and-mark statements,
and each channel's hand-off is read best next to the at-most-once rule it keeps.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import defaultdict
from datetime import timedelta
from email.utils import formatdate
from functools import cache

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from . import ratelimit, segments, templating
from .channels import (
    ACCEPTED,
    PERMANENT,
    RATE_LIMITED,
    TECHNICAL,
    TEMPORARY,
    Outcome,
)
from .channels import email as email_channel
from .channels import line as line_channel
from .formatting import display_values
from .models import Channel, Delivery, LineBatch, Send, TemplateVersion, Topic

EMAIL_CHUNK = 1000
LINE_CLAIM = 5000
UNSUBSCRIBE_SALT = "notices.unsubscribe"
# An e-mail left `sending` this long was handed to a worker that died: not sent again.
STALE_SENDING = timedelta(minutes=10)


def retry_interval() -> timedelta:
    return timedelta(seconds=settings.NOTICES_RETRY_INTERVAL_SECONDS)


def retry_window() -> timedelta:
    return timedelta(seconds=settings.NOTICES_RETRY_FOR_SECONDS)


# --- 1. materialize ------------------------------------------------------------------------


def _recipients(send: Send) -> tuple[str, list]:
    spec = segments.parse(send.segment)
    if spec.user_ids:
        from django.contrib.auth import get_user_model
        from django.db.models import CharField, F, IntegerField, Value
        from django.db.models.functions import Coalesce, Concat, JSONObject

        qs = (
            get_user_model()
            .objects.filter(pk__in=spec.user_ids)
            .annotate(
                rid=Coalesce(F("resident__id"), Value(None), output_field=IntegerField()),
                personalisation=JSONObject(
                    name=Coalesce(
                        Concat(
                            F("resident__family_name"),
                            Value(" "),
                            F("resident__given_name"),
                            output_field=CharField(),
                        ),
                        F("display_name"),
                    ),
                    family_name=Coalesce(F("resident__family_name"), F("display_name")),
                ),
            )
            .order_by()
            .values("rid", "pk", "personalisation")
        )
        sql, params = qs.query.sql_with_params()
        return sql, list(params)
    return segments.recipients_sql(spec, send.as_of)


MATERIALIZE_SQL = """
WITH seg(rid, uid, personalisation) AS ({segment})
INSERT INTO notices_delivery (
    send_id, user_id, resident_id, channel, address, language, personalisation, status,
    not_before, attempts, last_error, history, created_at, updated_at)
SELECT %(send)s, seg.uid, seg.rid, ch.channel,
       CASE ch.channel WHEN 'email' THEN u.email WHEN 'line' THEN ll.line_user_id ELSE '' END,
       coalesce(p.language, nullif(u.language, ''), 'ja'),
       %(shared)s::jsonb || seg.personalisation::jsonb,
       CASE WHEN ch.channel = 'inbox' THEN 'delivered' ELSE 'created' END,
       CASE WHEN ch.channel = 'inbox' OR %(emergency)s OR p.quiet_start IS NULL THEN %(now)s
            ELSE notices_quiet_until(p.quiet_start, p.quiet_end, %(now)s, %(tz)s) END,
       0, '',
       jsonb_build_array(jsonb_build_object(
           'status', CASE WHEN ch.channel = 'inbox' THEN 'delivered' ELSE 'created' END,
           'at', %(now)s, 'detail', '')),
       %(now)s, %(now)s
  FROM seg
  JOIN cityhall_user u ON u.id = seg.uid AND u.is_active
  LEFT JOIN notices_preference p ON p.user_id = u.id
  LEFT JOIN notices_linelink ll
         ON ll.user_id = u.id AND ll.following AND ll.bad_since IS NULL
 CROSS JOIN LATERAL unnest(
       ARRAY['inbox']::varchar[] || array_remove(coalesce(p.channels, '{{}}'::varchar[]), 'inbox')
     ) AS ch(channel)
 WHERE (%(emergency)s OR %(topic)s = 'personal'
        OR %(topic)s = ANY(coalesce(p.topics, %(default_topics)s::varchar[])))
   AND (ch.channel <> 'email' OR (p.email_bad_since IS NULL AND EXISTS (
            SELECT 1 FROM account_emailaddress e
             WHERE e.user_id = u.id AND e.verified AND lower(e.email) = lower(u.email))))
   AND (ch.channel <> 'line' OR ll.id IS NOT NULL)
ON CONFLICT (send_id, user_id, channel) DO NOTHING
"""


def materialize(send: Send) -> int:
    """Write the send's delivery rows (idempotent); returns how many were added."""
    segment_sql, segment_params = _recipients(send)
    # The segment's own %s placeholders become named ones, so both kinds can be mixed.
    named = {f"s{i}": value for i, value in enumerate(segment_params)}
    parts = segment_sql.split("%s")
    segment_named = parts[0] + "".join(f"%(s{i})s" + part for i, part in enumerate(parts[1:]))
    sql = MATERIALIZE_SQL.format(segment=segment_named)
    params = {
        **named,
        "send": send.pk,
        "shared": json.dumps(send.personalisation or {}),
        "emergency": bool(send.emergency),
        "tz": settings.TIME_ZONE,
        "now": timezone.now(),
        "topic": send.topic,
        "default_topics": [str(t) for t in Topic if t != Topic.PERSONAL],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- rendering -----------------------------------------------------------------------------


def notice_link(send_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("notices:open_send", args=[send_id])


@cache
def _unsubscribe_prefix(site_url: str) -> tuple[str, str]:
    before, _token, after = reverse("notices:unsubscribe", args=["TOKEN"]).rpartition("TOKEN")
    return site_url.rstrip("/") + before, after


def unsubscribe_url(user_id: int) -> str:
    # A payload this small is never compressed, so the token is what compress=True gave.
    token = signing.dumps({"u": user_id}, salt=UNSUBSCRIBE_SALT)
    before, after = _unsubscribe_prefix(settings.SITE_URL)
    return before + token + after


# A field value the e-mail merge may put in as it is: words, spaces inside and a few marks that
# mean nothing to Markdown or HTML (dates, amounts, names). Others are rendered whole.
_MERGEABLE = re.compile(r"[^\W_](?:(?:[^\W_]|[ ,:/%¥、，・：／％￥\u3000]){0,198}[^\W_])?")


class Renderer:
    """Renders deliveries of one template version, remembering results by the values of the
    fields the texts actually use (a district-wide notice is rendered once, not 30,000 times)."""

    def __init__(self, version: TemplateVersion, send_id: int):
        self.version = version
        self.link = notice_link(send_id)
        self.fields = {
            language: templating.fields_in(*version.texts(language)) for language in ("ja", "en")
        }
        # A template's own LINE text often names fewer fields than its body (no name, say),
        # so LINE texts are keyed on those fields only and many recipients share one batch.
        self.line_fields = {}
        for language in ("ja", "en"):
            _subject, _body, line = version.texts(language)
            self.line_fields[language] = (
                templating.fields_in(line) if line.strip() else self.fields[language]
            )
        self._cache: dict[tuple, templating.Rendered] = {}
        self._lines: dict[tuple, str] = {}
        self._merges: dict[str, tuple[email_channel.Compiled, dict, str, str] | None] = {}
        self._merge_checked: set[str] = set()

    def render(self, language: str, personalisation: dict) -> templating.Rendered:
        language = "en" if (language or "ja").startswith("en") else "ja"
        if isinstance(personalisation, str):
            # Raw cursors hand jsonb back as text.
            personalisation = json.loads(personalisation)
        values = display_values(personalisation, language)
        key = (language, *(values.get(name) for name in self.fields[language]))
        rendered = self._cache.get(key)
        if rendered is None:
            subject, body, line = self.version.texts(language)
            rendered = templating.render(
                subject=subject, body=body, line=line, values=values, link=self.link
            )
            self._cache[key] = rendered
        return rendered

    def line(self, language: str, personalisation: dict) -> str:
        """`render(...).line`, without rendering the subject, body and HTML."""
        language = "en" if (language or "ja").startswith("en") else "ja"
        if isinstance(personalisation, str):
            personalisation = json.loads(personalisation)
        values = display_values(personalisation, language)
        key = (language, *(values.get(name) for name in self.line_fields[language]))
        text = self._lines.get(key)
        if text is None:
            subject, body, line = self.version.texts(language)
            text = templating.render_line(
                subject=subject, body=body, line=line, values=values, link=self.link
            )
            self._lines[key] = text
        return text

    def _merge(self, language: str):
        """The e-mail of this language built once with a marker in each body field's place
        (None when it cannot be filled in: then every mail is rendered whole)."""
        if language not in self._merges:
            subject, body, line = self.version.texts(language)
            marks = {
                name: f"machibafield{i}q{secrets.token_hex(6)}"
                for i, name in enumerate(templating.fields_in(body))
            }
            rendered = templating.render(
                subject=subject, body=body, line=line, values=marks, link=self.link
            )
            compiled = email_channel.compile(text=rendered.text, html=rendered.html, fields=marks)
            self._merges[language] = (
                None if compiled is None else (compiled, marks, rendered.text, rendered.html)
            )
        return self._merges[language]

    def email(
        self,
        language: str,
        personalisation: dict,
        *,
        to: str,
        user_id: int,
        delivery_id: int,
        date: str,
    ) -> email_channel.Outgoing:
        """One recipient's mail as bytes: the built message filled in when the values are
        plain words, else rendered and built whole (the same bytes either way)."""
        language = "en" if (language or "ja").startswith("en") else "ja"
        if isinstance(personalisation, str):
            personalisation = json.loads(personalisation)
        values = display_values(personalisation, language)
        merge = self._merge(language)
        if merge is not None and email_channel.plain_address(to):
            compiled, marks, text, html = merge
            used = {name: values.get(name) or "" for name in marks}
            if all(_MERGEABLE.fullmatch(value) for value in used.values()) and compiled.fits(used):
                if language not in self._merge_checked and not self._merge_agrees(
                    language, personalisation, used
                ):
                    self._merges[language] = None
                else:
                    return email_channel.Outgoing(
                        to=to,
                        data=compiled.fill(
                            to=to,
                            subject=templating.fill_plain(self.version.texts(language)[0], values),
                            message_id=_message_id(delivery_id),
                            unsubscribe_url=unsubscribe_url(user_id),
                            date=date,
                            values=used,
                        ),
                    )
        rendered = self.render(language, personalisation)
        envelope_to, data = email_channel.message_bytes(
            email_channel.Mail(
                to=to,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                unsubscribe_url=unsubscribe_url(user_id),
                message_id=_message_id(delivery_id),
            )
        )
        return email_channel.Outgoing(to=envelope_to, data=data)

    def _merge_agrees(self, language: str, personalisation: dict, used: dict) -> bool:
        """Once per language, the first filled mail's texts are compared with a whole render of
        the same values: a template the merge would get wrong is rendered whole from then on."""
        _compiled, marks, text, html = self._merges[language]
        rendered = self.render(language, personalisation)
        for name, mark in marks.items():
            text, html = text.replace(mark, used[name]), html.replace(mark, used[name])
        self._merge_checked.add(language)
        return (text, html) == (rendered.text, rendered.html)


_renderers: dict[int, Renderer] = {}


def renderer_for(send_id: int) -> Renderer:
    found = _renderers.get(send_id)
    if found is None:
        send = Send.objects.select_related("template_version").get(pk=send_id)
        found = Renderer(send.template_version, send_id)
        if len(_renderers) > 200:
            _renderers.clear()
        _renderers[send_id] = found
    return found


# --- status changes ------------------------------------------------------------------------

_MARK_SQL = """
UPDATE notices_delivery
   SET status = %(status)s, updated_at = %(now)s, last_error = %(detail)s,
       not_before = coalesce(%(not_before)s, not_before),
       history = history || jsonb_build_array(jsonb_build_object(
           'status', %(status)s, 'at', %(now)s, 'detail', %(detail)s))
 WHERE id = ANY(%(ids)s)
"""


def _mark(ids: list[int], status: str, detail: str = "", not_before=None) -> None:
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SQL,
            {
                "status": status,
                "detail": detail[:300],
                "not_before": not_before,
                "ids": ids,
                "now": timezone.now(),
            },
        )


def _fail_or_retry(rows: list[tuple[int, object]], detail: str) -> None:
    """Temporary failures: again in 5 minutes, until 4 hours after the row was made; then a
    technical failure (GOV.UK Notify gives up the same way)."""
    now = timezone.now()
    retry, give_up = [], []
    for delivery_id, created_at in rows:
        (give_up if now - created_at >= retry_window() else retry).append(delivery_id)
    _mark(retry, Delivery.Status.TEMPORARY_FAILURE, detail, not_before=now + retry_interval())
    _mark(give_up, Delivery.Status.TECHNICAL_FAILURE, f"gave up after retries: {detail}")


# --- 2. e-mail -----------------------------------------------------------------------------

_CLAIM_SQL = """
WITH due AS (
    SELECT d.id FROM notices_delivery d JOIN notices_send s ON s.id = d.send_id
     WHERE d.channel = %(channel)s AND d.status IN ('created', 'temporary-failure')
       AND d.line_batch_id IS NULL AND d.not_before <= %(now)s AND s.state = 'sending'
       AND (%(send)s::bigint IS NULL OR d.send_id = %(send)s::bigint)
     ORDER BY d.not_before, d.id
     LIMIT %(limit)s
       FOR UPDATE OF d SKIP LOCKED)
UPDATE notices_delivery d
   SET status = 'sending', attempts = d.attempts + 1, updated_at = %(now)s,
       history = d.history || jsonb_build_array(jsonb_build_object(
           'status', 'sending', 'at', %(now)s, 'detail', ''))
  FROM due WHERE d.id = due.id
RETURNING d.id, d.send_id, d.user_id, d.address, d.language, d.personalisation, d.created_at
"""


def _claim(channel: str, send_id: int | None, limit: int) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {"channel": channel, "send": send_id, "limit": limit, "now": timezone.now()},
        )
        return cursor.fetchall()


def _message_id(delivery_id: int) -> str:
    domain = settings.NOTICES_FROM_EMAIL.rsplit("@", 1)[-1] or "machiba.invalid"
    return f"<notice-{delivery_id}@{domain}>"


def dispatch_email(*, send_id: int | None = None, limit: int = EMAIL_CHUNK) -> int:
    """Send one chunk of due e-mails; returns how many were handed over (0: none due).

    Through an SMTP server, the chunk's messages are built first (filled in, see Renderer.email)
    and handed over NOTICES_EMAIL_CONNECTIONS connections at once, pipelined; the rows are
    then marked with one UPDATE per outcome."""
    rows = _claim(Channel.EMAIL, send_id, limit)
    if not rows:
        return 0
    backend = email_channel.connection()
    if email_channel.is_smtp(backend):
        results = _email_over_smtp(rows)
    else:
        results = _email_through_backend(rows, backend)
    outcomes: dict[str, list[tuple[int, object]]] = defaultdict(list)
    details: dict[str, str] = {}
    bad_users: list[int] = []
    for row, outcome in zip(rows, results, strict=True):
        outcomes[outcome.kind].append((row[0], row[6]))
        details[outcome.kind] = outcome.detail
        if outcome.kind == PERMANENT:
            bad_users.append(row[2])
    _record(outcomes, details)
    if bad_users:
        from .models import Preference

        Preference.objects.filter(user_id__in=bad_users, email_bad_since__isnull=True).update(
            email_bad_since=timezone.now()
        )
    return len(rows)


def _email_over_smtp(rows: list[tuple]) -> list[Outcome]:
    date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    messages = [
        renderer_for(row_send).email(
            language,
            personalisation,
            to=address,
            user_id=user_id,
            delivery_id=delivery_id,
            date=date,
        )
        for delivery_id, row_send, user_id, address, language, personalisation, _c in rows
    ]
    limited = ratelimit.per_second(Channel.EMAIL) > 0
    return email_channel.send_many(
        messages,
        connections=settings.NOTICES_EMAIL_CONNECTIONS,
        acquire=(lambda: ratelimit.acquire(Channel.EMAIL, 1)) if limited else (lambda: None),
    )


def _email_through_backend(rows: list[tuple], conn) -> list[Outcome]:
    """Other mail backends (locmem, console, file): one message at a time."""
    results: list[Outcome] = []
    try:
        conn.open()
        for delivery_id, row_send, user_id, address, language, personalisation, _c in rows:
            ratelimit.acquire(Channel.EMAIL, 1)
            rendered = renderer_for(row_send).render(language, personalisation)
            results.append(
                email_channel.send(
                    email_channel.Mail(
                        to=address,
                        subject=rendered.subject,
                        text=rendered.text,
                        html=rendered.html,
                        unsubscribe_url=unsubscribe_url(user_id),
                        message_id=_message_id(delivery_id),
                    ),
                    conn=conn,
                )
            )
    except OSError as exc:
        results += [Outcome(TEMPORARY, type(exc).__name__)] * (len(rows) - len(results))
    finally:
        try:
            conn.close()
        except OSError:
            pass
    return results


def _record(outcomes: dict[str, list[tuple[int, object]]], details: dict[str, str]) -> None:
    with transaction.atomic():
        _mark([i for i, _c in outcomes.get(ACCEPTED, [])], Delivery.Status.DELIVERED)
        _mark(
            [i for i, _c in outcomes.get(PERMANENT, [])],
            Delivery.Status.PERMANENT_FAILURE,
            details.get(PERMANENT, ""),
        )
        _mark(
            [i for i, _c in outcomes.get(TECHNICAL, [])],
            Delivery.Status.TECHNICAL_FAILURE,
            details.get(TECHNICAL, ""),
        )
        if outcomes.get(TEMPORARY):
            _fail_or_retry(outcomes[TEMPORARY], details.get(TEMPORARY, ""))


# --- 2. LINE -------------------------------------------------------------------------------

_LINE_CLAIM_SQL = """
SELECT d.id, d.send_id, d.address, d.language, d.personalisation
  FROM notices_delivery d JOIN notices_send s ON s.id = d.send_id
 WHERE d.channel = 'line' AND d.status = 'created' AND d.line_batch_id IS NULL
   AND d.not_before <= %(now)s AND s.state = 'sending'
   AND (%(send)s::bigint IS NULL OR d.send_id = %(send)s::bigint)
 ORDER BY d.send_id, d.id
 LIMIT %(limit)s
   FOR UPDATE OF d SKIP LOCKED
"""


def batch_line(*, send_id: int | None = None, limit: int = LINE_CLAIM) -> int:
    """Group due LINE rows into batches of ≤ 500 with the same text; each batch gets its retry
    key now and is committed before anything is sent. Returns the rows batched."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _LINE_CLAIM_SQL, {"send": send_id, "limit": limit, "now": timezone.now()}
            )
            rows = cursor.fetchall()
        if not rows:
            return 0
        groups: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
        for delivery_id, row_send, address, language, personalisation in rows:
            text = renderer_for(row_send).line(language, personalisation)
            groups[(row_send, text)].append((delivery_id, address))
        now = timezone.now()
        planned: list[tuple[LineBatch, list[int]]] = []
        for (row_send, text), members in groups.items():
            for start in range(0, len(members), line_channel.MULTICAST_LIMIT):
                chunk = members[start : start + line_channel.MULTICAST_LIMIT]
                planned.append(
                    (
                        LineBatch(send_id=row_send, text=text, size=len(chunk), not_before=now),
                        [delivery_id for delivery_id, _a in chunk],
                    )
                )
        LineBatch.objects.bulk_create([batch for batch, _ids in planned])
        ids, batch_ids = [], []
        for batch, members in planned:
            ids += members
            batch_ids += [batch.pk] * len(members)
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE notices_delivery d
                      SET line_batch_id = v.batch, status = 'sending', updated_at = %s,
                          attempts = d.attempts + 1,
                          history = d.history || jsonb_build_array(jsonb_build_object(
                              'status', 'sending', 'at', %s, 'detail', ''))
                     FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, batch)
                    WHERE d.id = v.id""",
                [now, now, ids, batch_ids],
            )
    return len(rows)


def _backoff(attempt: int) -> float:
    return settings.NOTICES_LINE_BACKOFF_SECONDS * (2**attempt)


def _send_batch(batch: LineBatch) -> Outcome:
    user_ids = list(batch.deliveries.order_by("id").values_list("address", flat=True))
    outcome = Outcome(TECHNICAL, "no recipients")
    for attempt in range(settings.NOTICES_LINE_BACKOFF_TRIES + 1):
        ratelimit.acquire(Channel.LINE, 1)
        outcome = line_channel.multicast(
            user_ids=user_ids, text=batch.text, retry_key=str(batch.retry_key)
        )
        if outcome.kind != RATE_LIMITED:
            return outcome
        if attempt < settings.NOTICES_LINE_BACKOFF_TRIES:
            time.sleep(_backoff(attempt))
    return Outcome(TEMPORARY, f"429 after {settings.NOTICES_LINE_BACKOFF_TRIES} back-offs")


def send_line_batches(*, send_id: int | None = None, limit: int = 20) -> int:
    """Send due batches, each inside a transaction that holds its row, so no two workers send
    one batch at once; a batch whose worker died is found `created` or `sending` again and sent
    with the same retry key. Returns the batches handled."""
    handled = 0
    for _ in range(limit):
        with transaction.atomic():
            qs = LineBatch.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                status__in=[LineBatch.Status.CREATED, LineBatch.Status.SENDING],
                not_before__lte=timezone.now(),
                send__state=Send.State.SENDING,
            )
            if send_id is not None:
                qs = qs.filter(send_id=send_id)
            batch = qs.order_by("not_before", "id").first()
            if batch is None:
                break
            batch.attempts += 1
            batch.status = LineBatch.Status.SENDING
            batch.save(update_fields=["attempts", "status"])
            outcome = _send_batch(batch)
            _after_batch(batch, outcome)
            handled += 1
    return handled


def _after_batch(batch: LineBatch, outcome: Outcome) -> None:
    members = list(batch.deliveries.values_list("id", "created_at", "user_id"))
    ids = [m[0] for m in members]
    if outcome.kind == ACCEPTED:
        batch.status = LineBatch.Status.ACCEPTED
        batch.accepted_at = timezone.now()
        batch.last_error = outcome.detail
        batch.save(update_fields=["status", "accepted_at", "last_error"])
        _mark(ids, Delivery.Status.DELIVERED, outcome.detail)
        return
    batch.last_error = outcome.detail[:300]
    if outcome.kind == TEMPORARY and timezone.now() - batch.created_at < retry_window():
        batch.status = LineBatch.Status.CREATED
        batch.not_before = timezone.now() + retry_interval()
        batch.save(update_fields=["status", "not_before", "last_error"])
        _mark(ids, Delivery.Status.TEMPORARY_FAILURE, outcome.detail)
        return
    batch.status = LineBatch.Status.FAILED
    batch.save(update_fields=["status", "last_error"])
    if outcome.kind == PERMANENT:
        _mark(ids, Delivery.Status.PERMANENT_FAILURE, outcome.detail)
        if len(members) == 1:
            # One recipient refused: that LINE link no longer reaches anyone.
            from .models import LineLink

            LineLink.objects.filter(user_id=members[0][2], bad_since__isnull=True).update(
                bad_since=timezone.now()
            )
    else:
        _mark(ids, Delivery.Status.TECHNICAL_FAILURE, outcome.detail)


# --- the loop ------------------------------------------------------------------------------


def sweep_stale() -> int:
    """E-mails left `sending` by a dead worker: not known to have gone, never sent twice."""
    cutoff = timezone.now() - STALE_SENDING
    ids = list(
        Delivery.objects.filter(
            channel=Channel.EMAIL, status=Delivery.Status.SENDING, updated_at__lt=cutoff
        ).values_list("id", flat=True)[:10000]
    )
    _mark(ids, Delivery.Status.TECHNICAL_FAILURE, "worker stopped while sending; not resent")
    return len(ids)


def dispatch(*, send_id: int | None = None, budget_seconds: float = 60.0) -> dict[str, int]:
    """Work through due deliveries (of one send, or all) for at most `budget_seconds`."""
    started = time.monotonic()
    counts = {"email": 0, "line_rows": 0, "line_batches": 0}
    while time.monotonic() - started < budget_seconds:
        batched = batch_line(send_id=send_id)
        sent_batches = send_line_batches(send_id=send_id)
        mailed = dispatch_email(send_id=send_id)
        counts["line_rows"] += batched
        counts["line_batches"] += sent_batches
        counts["email"] += mailed
        if not (batched or sent_batches or mailed):
            break
    return counts


def remaining(send_id: int) -> int:
    return Delivery.objects.filter(
        send_id=send_id,
        status__in=[
            Delivery.Status.CREATED,
            Delivery.Status.SENDING,
            Delivery.Status.TEMPORARY_FAILURE,
        ],
    ).count()
