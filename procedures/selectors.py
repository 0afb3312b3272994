"""Reads of procedures, forms, applications and certificates that views and other apps may use."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall.japanese import search_key
from residents.relationships import relationship_label
from residents.selectors import household_members

from . import search, workflow
from .models import (
    Application,
    Certificate,
    CertificateKind,
    Department,
    FormDefinition,
    Procedure,
)


def search_procedures(query: str = "", *, life_event: str = "") -> QuerySet[Procedure]:
    """Active procedures matching every word of `query` (full-width, half-width, hiragana and
    katakana alike; a reading or an everyday word such as 引越し counts, see procedures.search),
    the whole name first, then names starting with it, then the rest; optionally for one life
    event, in checklist order (what is done first comes first)."""
    qs = Procedure.objects.filter(is_active=True)
    for word in search.words(query):
        match = Q()
        for alternative in search.alternatives(word):
            match |= Q(search_text__contains=alternative)
        qs = qs.filter(match)
    if life_event:
        qs = qs.filter(life_events__contains=[life_event])
    key = search_key(query).strip()
    if not key:
        order = ("checklist_order", "department", "name_ja") if life_event else ("department",)
        return qs.order_by(*order, "name_ja")
    ranked = qs.annotate(
        rank=Case(
            When(search_names__contains=f"|{key}|", then=Value(search.RANK_EXACT)),
            When(search_names__contains=f"|{key}", then=Value(search.RANK_PREFIX)),
            When(search_names__contains=key, then=Value(search.RANK_IN_NAME)),
            default=Value(search.RANK_ELSEWHERE),
        )
    )
    return ranked.order_by("rank", "checklist_order", "department", "name_ja")


def catalogue_by_department() -> list[tuple[str, list[Procedure]]]:
    """Every active procedure under its department's name, for /procedures/ without a query."""
    groups: dict[str, list[Procedure]] = {}
    for procedure in Procedure.objects.filter(is_active=True).order_by("department", "name_ja"):
        groups.setdefault(procedure.department, []).append(procedure)
    return [(str(Department(code).label), items) for code, items in groups.items()]


def published_form(procedure: Procedure) -> FormDefinition | None:
    """The newest published version of a procedure's form: what new applications are filed on."""
    return procedure.forms.filter(published_at__isnull=False).order_by("-version").first()


def draft_form(procedure: Procedure) -> FormDefinition | None:
    return procedure.forms.filter(published_at__isnull=True).first()


def applications_of_user(user) -> QuerySet[Application]:
    return Application.objects.filter(user=user).select_related("procedure")


def applications_for_resident(resident) -> QuerySet[Application]:
    """Applications filed by or for this resident, newest first: those naming them as the
    applicant (online or at the counter) and those made from their linked portal account."""
    who = Q(applicant=resident)
    if resident.user_id is not None:
        who |= Q(user_id=resident.user_id)
    return (
        Application.objects.filter(who)
        .select_related("procedure", "applicant")
        .order_by("-created_at", "-id")
    )


def certificates_for_resident(resident) -> QuerySet[Certificate]:
    """Certificates issued to this resident or about them (a household member's 住民票の写し that
    lists them), newest first."""
    about = Q(application__applicant=resident) | Q(
        kind=CertificateKind.RESIDENCE, application__answers__members__contains=[str(resident.pk)]
    )
    return (
        Certificate.objects.filter(about)
        .select_related("application__procedure", "application__applicant")
        .order_by("-issued_at", "-id")
    )


def is_overdue(application: Application, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return (
        application.due_on is not None
        and application.state not in workflow.FINAL_STATES
        and application.due_on < today
    )


def case_queue(
    *,
    procedure: str = "",
    state: str = "",
    due_before: date | None = None,
    assignee=None,
    unassigned: bool = False,
    needs_attention: bool = False,
) -> QuerySet[Application]:
    """Applications for clerks: by default those waiting for the city, oldest deadline first.
    `needs_attention`: only approved cases whose certificate could not be issued (要対応)."""
    qs = Application.objects.select_related("procedure", "applicant", "assignee").exclude(
        state=workflow.DRAFT
    )
    if needs_attention:
        qs = qs.filter(needs_attention_since__isnull=False, state=workflow.APPROVED)
    if state:
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=workflow.OPEN_FOR_CLERK)
    if procedure:
        qs = qs.filter(procedure__slug=procedure)
    if due_before:
        qs = qs.filter(due_on__lte=due_before)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    if unassigned:
        qs = qs.filter(assignee__isnull=True)
    return qs.order_by("due_on", "submitted_at", "id")


def certificate_by_code(code: str) -> Certificate | None:
    normalised = normalise_code(code)
    return Certificate.objects.filter(verification_code=normalised).first()


def normalise_code(code: str) -> str:
    """ABCD-EFGH-… in capitals; people may type it in lower case or without the hyphens."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def household_choices(resident) -> list[tuple[str, str]]:
    """(value, label) for choosing household members on a certificate request."""
    return [
        (
            str(m.pk),
            _("%(name)s（%(relationship)s）")
            % {"name": m.full_name, "relationship": relationship_label(m.relationship)},
        )
        for m in household_members(resident)
    ]


def dynamic_choices(definition: dict, resident) -> dict[str, list[tuple[str, str]]]:
    """Per-applicant choices of the fields that list the household."""
    out: dict[str, list[tuple[str, str]]] = {}
    for field in definition["fields"]:
        if field.get("prefill") == "household_members":
            out[field["id"]] = household_choices(resident)
    return out


def prefill_values(definition: dict, resident) -> dict[str, Any]:
    """Initial answers taken from the resident record (書かない窓口 and the portal alike)."""
    household = resident.household
    address = household.address if household else None
    sources: dict[str, Any] = {
        "name": resident.full_name,
        "name_kana": resident.full_name_kana,
        "family_name": resident.family_name,
        "given_name": resident.given_name,
        "birth_date": resident.birth_date.isoformat(),
        "sex": resident.sex,
        "address": address.label if address else "",
        "postal_code": address.postal_code if address else "",
        "household_members": [str(resident.pk)],
    }
    return {
        field["id"]: sources[field["prefill"]]
        for field in definition["fields"]
        if field.get("prefill") in sources
    }


def visible_events(application: Application) -> QuerySet:
    return application.events.filter(visible_to_applicant=True).select_related("actor")


def fee_paid(application: Application) -> int:
    """The fee the applicant has paid for this application (0 when none or not yet paid): the
    case leaves 手数料のお支払い待ち only once the fee charge is settled."""
    unpaid = (workflow.DRAFT, workflow.SUBMITTED, workflow.AWAITING_PAYMENT)
    if not application.fee_yen or application.charge_id is None or application.state in unpaid:
        return 0
    return application.fee_yen
