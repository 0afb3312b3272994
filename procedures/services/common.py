"""What every use case of procedures shares: the messages, the permission each family of
use cases needs, the application lock, who may act as the applicant, and ``_move``, the one
place an application's state changes (the table is ``procedures.workflow``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from cityhall.events import raise_event
from cityhall.roles import is_staff_member, require_permission

from .. import casekinds, workflow
from ..models import (
    Application,
    CaseEvent,
)

MSG_NOT_STAFF = gettext_lazy("この操作は職員だけができます。")
MSG_NOT_YOURS = gettext_lazy("この申請を操作する権限がありません。")
MSG_NOT_EDITABLE = gettext_lazy("この申請は今は変更できません。")


# The permission each family of use cases needs, held through the role groups.
MANAGE_FORMS = "procedures.change_formdefinition"
MANAGE_PROCEDURES = "procedures.change_procedure"
WORK_CASES = "procedures.change_application"


def _require(actor, permission: str, message) -> None:
    try:
        require_permission(actor, permission)
    except PermissionDenied:
        raise PermissionDenied(message) from None


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
