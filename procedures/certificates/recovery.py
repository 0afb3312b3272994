"""Certificates that did not come out (DESIGN.md §6: nothing stays "in progress" forever).

A clerk approves a certificate request and the worker renders it. When rendering fails the
application stays approved without a certificate. The beat job `procedures.retry_stuck_certificates`
finds such cases some minutes after approval, queues the rendering again (counting the attempts
on the application), and after the last attempt flags the case for clerks (要対応), who see it in
the case queue, fix the cause (register the seal, correct the record) and retry from the case.

A failure that retrying cannot mend (the kind's `build` raises ValidationError: no seal
registered, no tax record) flags the case at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from cityhall import audit
from cityhall.notifications import notify
from cityhall.roles import is_staff_member

from .. import workflow
from ..models import Application, CaseEvent

MSG_NOT_STUCK = gettext_lazy("この申請は証明書の発行を待っていません。")


def retry_after() -> timedelta:
    """How long after approval (and after each retry) a missing certificate counts as stuck."""
    return timedelta(minutes=getattr(settings, "PROCEDURES_CERTIFICATE_RETRY_MINUTES", 15))


def max_attempts() -> int:
    """How many times the beat job queues the rendering again before flagging the case."""
    return getattr(settings, "PROCEDURES_CERTIFICATE_MAX_ATTEMPTS", 3)


def _queue_issue(application_id: int) -> None:
    from ..tasks import issue_certificate

    transaction.on_commit(lambda: issue_certificate.delay(application_id))


def _flag(application: Application, *, reason: str, now: datetime) -> None:
    """Mark a locked application 要対応, write it in the (internal) case history and tell the
    assigned clerk, if any."""
    application.needs_attention_since = now
    application.save(update_fields=["needs_attention_since", "updated_at"])
    CaseEvent.objects.create(
        application=application,
        actor=None,
        from_state=application.state,
        to_state=application.state,
        comment=_("要対応: 証明書を発行できませんでした\n%(reason)s") % {"reason": reason},
        visible_to_applicant=False,
    )
    if application.assignee_id is not None:
        notify(
            user=application.assignee,
            subject=lambda: (
                _("要対応: %(reference)s の証明書を発行できませんでした")
                % {"reference": application.reference}
            ),
            body=reason,
            link=reverse("procedures:case_detail", args=[application.pk]),
        )


def _approved_at() -> Subquery:
    return Subquery(
        CaseEvent.objects.filter(application=OuterRef("pk"), to_state=workflow.APPROVED)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )


@transaction.atomic
def retry_stuck_certificates(
    *,
    now: datetime | None = None,
    after: timedelta | None = None,
    attempts: int | None = None,
    limit: int = 500,
) -> dict[str, int]:
    """Queue the certificate again for approved applications still without one `after` their
    approval (and `after` the previous retry); flag those already retried `attempts` times.

    Rows are locked with SKIP LOCKED, so two beat runs (or a clerk retrying the same case) never
    count one attempt twice. Returns {"requeued": n, "flagged": m}.
    """
    now = now or timezone.now()
    cutoff = now - (after if after is not None else retry_after())
    attempts = attempts if attempts is not None else max_attempts()
    stuck = list(
        Application.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("assignee")
        .annotate(approved_at=_approved_at())
        .filter(
            state=workflow.APPROVED,
            needs_attention_since__isnull=True,
            certificate__isnull=True,
            approved_at__lt=cutoff,
        )
        .exclude(procedure__certificate_kind="")
        .filter(Q(certificate_retried_at__isnull=True) | Q(certificate_retried_at__lt=cutoff))
        .order_by("id")[:limit]
    )
    counts = {"requeued": 0, "flagged": 0}
    for application in stuck:
        if application.certificate_attempts >= attempts:
            reason = application.certificate_error or (
                _("%(n)s回再試行しても発行されませんでした") % {"n": attempts}
            )
            _flag(application, reason=reason, now=now)
            counts["flagged"] += 1
            continue
        application.certificate_attempts += 1
        application.certificate_retried_at = now
        application.save(
            update_fields=["certificate_attempts", "certificate_retried_at", "updated_at"]
        )
        _queue_issue(application.pk)
        counts["requeued"] += 1
    return counts


@transaction.atomic
def record_failure(*, application_id: int, error: str, permanent: bool) -> Application | None:
    """Write down why rendering failed (the worker calls this after its transaction rolled back).
    A permanent failure flags the case at once; others wait for the beat job's next retry."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .filter(pk=application_id, state=workflow.APPROVED, certificate__isnull=True)
        .first()
    )
    if application is None:
        return None
    application.certificate_error = error[:500]
    application.save(update_fields=["certificate_error", "updated_at"])
    if permanent and application.needs_attention_since is None:
        _flag(application, reason=application.certificate_error, now=timezone.now())
    return application


@transaction.atomic
def retry_certificate(*, application: Application, clerk) -> Application:
    """A clerk has fixed the cause of a flagged (or slow) certificate: clear the flag, start the
    count again and queue the rendering now."""
    if not is_staff_member(clerk):
        raise PermissionDenied(_("この操作は職員だけができます。"))
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure")
        .get(pk=application.pk)
    )
    if (
        application.state != workflow.APPROVED
        or not application.procedure.certificate_kind
        or hasattr(application, "certificate")
    ):
        raise ValidationError(MSG_NOT_STUCK)
    application.certificate_attempts = 0
    application.certificate_retried_at = timezone.now()
    application.certificate_error = ""
    application.needs_attention_since = None
    application.save(
        update_fields=[
            "certificate_attempts",
            "certificate_retried_at",
            "certificate_error",
            "needs_attention_since",
            "updated_at",
        ]
    )
    CaseEvent.objects.create(
        application=application,
        actor=clerk,
        from_state=application.state,
        to_state=application.state,
        comment=gettext_noop("証明書の発行を再実行しました"),
        visible_to_applicant=False,
    )
    audit.record(action="procedures.certificate_retried", actor=clerk, obj=application)
    _queue_issue(application.pk)
    return application
