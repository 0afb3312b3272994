"""The case workflow of an application: one table says which transitions exist and who makes them.

Services enforce it (`check_transition`); the database holds the list of states in a check
constraint. Pure module, no ORM.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

DRAFT = "draft"
SUBMITTED = "submitted"
AWAITING_PAYMENT = "awaiting_payment"
IN_REVIEW = "in_review"
CORRECTION_REQUESTED = "correction_requested"
RESUBMITTED = "resubmitted"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
COMPLETED = "completed"

STATES = (
    DRAFT,
    SUBMITTED,
    AWAITING_PAYMENT,
    IN_REVIEW,
    CORRECTION_REQUESTED,
    RESUBMITTED,
    APPROVED,
    REJECTED,
    WITHDRAWN,
    COMPLETED,
)
FINAL_STATES = (REJECTED, WITHDRAWN, COMPLETED)
# States the clerk queue shows by default: something for the city to do.
OPEN_FOR_CLERK = (IN_REVIEW, RESUBMITTED, APPROVED)

APPLICANT = "applicant"  # the resident (or the clerk filing for them at the counter)
CLERK = "clerk"
SYSTEM = "system"  # payments settling a charge, the certificate worker

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (DRAFT, SUBMITTED): frozenset({APPLICANT}),
    (DRAFT, WITHDRAWN): frozenset({APPLICANT}),
    (SUBMITTED, AWAITING_PAYMENT): frozenset({SYSTEM}),
    (SUBMITTED, IN_REVIEW): frozenset({SYSTEM}),
    (SUBMITTED, WITHDRAWN): frozenset({APPLICANT}),
    (AWAITING_PAYMENT, IN_REVIEW): frozenset({SYSTEM}),
    (AWAITING_PAYMENT, WITHDRAWN): frozenset({APPLICANT}),
    (IN_REVIEW, CORRECTION_REQUESTED): frozenset({CLERK}),
    (IN_REVIEW, APPROVED): frozenset({CLERK}),
    (IN_REVIEW, REJECTED): frozenset({CLERK}),
    (IN_REVIEW, WITHDRAWN): frozenset({APPLICANT}),
    (CORRECTION_REQUESTED, RESUBMITTED): frozenset({APPLICANT}),
    (CORRECTION_REQUESTED, WITHDRAWN): frozenset({APPLICANT}),
    (CORRECTION_REQUESTED, REJECTED): frozenset({CLERK}),
    (RESUBMITTED, CORRECTION_REQUESTED): frozenset({CLERK}),
    (RESUBMITTED, APPROVED): frozenset({CLERK}),
    (RESUBMITTED, REJECTED): frozenset({CLERK}),
    (RESUBMITTED, WITHDRAWN): frozenset({APPLICANT}),
    (APPROVED, COMPLETED): frozenset({CLERK, SYSTEM}),
}


# What a button that moves a case to the state says: a verb, not the state's name (the states'
# own names are Application.State's labels).
ACTION_LABELS = {
    SUBMITTED: _("申請する"),
    IN_REVIEW: _("審査を始める"),
    CORRECTION_REQUESTED: _("補正を依頼する"),
    RESUBMITTED: _("再提出する"),
    APPROVED: _("承認する"),
    REJECTED: _("却下する"),
    WITHDRAWN: _("取り下げる"),
    COMPLETED: _("完了にする"),
}


def action_label(target: str) -> str:
    """The words on the button that moves a case to `target`."""
    return str(ACTION_LABELS[target])


class TransitionNotAllowed(ValueError):
    def __str__(self) -> str:
        return str(self.args[0])


def allowed_targets(state: str, actor: str) -> list[str]:
    """Where `actor` may move an application that is in `state`, in table order."""
    return [to for (frm, to), actors in TRANSITIONS.items() if frm == state and actor in actors]


def check_transition(state: str, target: str, actor: str) -> None:
    """Raise TransitionNotAllowed (with a message for people) unless the table allows it."""
    actors = TRANSITIONS.get((state, target))
    if actors is None or actor not in actors:
        # The codes stay in the exception's args for logs; people read the sentence.
        raise TransitionNotAllowed(
            _("この申請は今の状態ではその操作ができません。"), state, target, actor
        )
