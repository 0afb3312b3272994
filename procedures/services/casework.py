"""The clerks' casework (``procedures.change_application``): the counter's confirmation, the
fee settled by payments, decisions (補正, approval, rejection, completion) with the four-eyes
rule for certificates that print a My Number (番号法19条), and assignment.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from cityhall import audit

from .. import workflow
from ..models import (
    Application,
    CaseEvent,
)
from .common import (
    MSG_NOT_EDITABLE,
    MSG_NOT_STAFF,
    WORK_CASES,
    _lock,
    _move,
    _require,
)
from .filing import submit_application

MSG_MYNUMBER_NEEDS_REVEALER = gettext_lazy(
    "個人番号を記載する窓口での請求は、個人番号を扱う権限のある職員が承認します。"
)
MSG_MYNUMBER_FOUR_EYES = gettext_lazy(
    "個人番号を記載する窓口での請求は、受け付けた職員とは別の職員が承認します。"
)


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


def prints_mynumber(application: Application) -> bool:
    """Whether the application's certificate prints a My Number (asked for by the applicant)."""
    kind_key = application.procedure.certificate_kind
    if not kind_key:
        return False
    from ..certificates import get as certificate_kind

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
        from ..tasks import issue_certificate

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
