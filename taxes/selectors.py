"""Reads of taxes that views, the API, documents and other apps' registries use."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from . import residenttax
from .models import Assessment, AssessmentRun, Declaration, SpecialCollection

# Levy brackets of the statistics page (年税額, yen): lower bounds.
BRACKETS = (0, 1, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)


def current_assessment(resident, fiscal_year: int) -> Assessment | None:
    return (
        Assessment.objects.filter(resident=resident, fiscal_year=fiscal_year, is_current=True)
        .select_related("employer")
        .first()
    )


def assessments_of(resident) -> QuerySet[Assessment]:
    """Every version of every year, newest year first, newest version first."""
    return (
        Assessment.objects.filter(resident=resident)
        .select_related("employer", "run", "created_by")
        .order_by("-fiscal_year", "-version")
    )


def declarations_of(resident) -> QuerySet[Declaration]:
    return (
        Declaration.objects.filter(resident=resident)
        .select_related("application")
        .prefetch_related("corrections__clerk")
        .order_by("-fiscal_year", "-id")
    )


def live_declaration(resident, fiscal_year: int) -> Declaration | None:
    return (
        Declaration.objects.filter(resident=resident, fiscal_year=fiscal_year)
        .exclude(status__in=[Declaration.Status.WITHDRAWN, Declaration.Status.REJECTED])
        .select_related("application")
        .first()
    )


def special_collection(resident, fiscal_year: int) -> SpecialCollection | None:
    return (
        SpecialCollection.objects.filter(resident=resident, fiscal_year=fiscal_year)
        .select_related("employer")
        .first()
    )


def assessment_list(*, fiscal_year: int, status: str = "", collection: str = "", corrected=False):
    """Current assessments of a year, filtered by status (taxed / per_capita_only / exempt) and
    collection; ``corrected`` keeps those with a 更正."""
    qs = Assessment.objects.filter(fiscal_year=fiscal_year, is_current=True).select_related(
        "resident", "employer"
    )
    if status == "taxed":
        qs = qs.filter(exempt_income_levy=False)
    elif status == "per_capita_only":
        qs = qs.filter(exempt_income_levy=True, exempt_per_capita=False)
    elif status == "exempt":
        qs = qs.filter(exempt_per_capita=True)
    if collection:
        qs = qs.filter(collection=collection)
    if corrected:
        qs = qs.filter(version__gt=1)
    return qs.order_by("resident__search_kana", "resident_id")


def status_counts(fiscal_year: int) -> dict:
    return Assessment.objects.filter(fiscal_year=fiscal_year, is_current=True).aggregate(
        taxpayers=Count("id"),
        taxed=Count("id", filter=Q(exempt_income_levy=False)),
        per_capita_only=Count("id", filter=Q(exempt_income_levy=True, exempt_per_capita=False)),
        exempt=Count("id", filter=Q(exempt_per_capita=True)),
        corrected=Count("id", filter=Q(version__gt=1)),
        levy=Sum("total"),
        income_levy=Sum("income_levy"),
        per_capita=Sum("per_capita"),
        forest_tax=Sum("forest_tax"),
    )


def statistics(fiscal_year: int) -> dict:
    """Taxpayers, exempt, and the total levy by bracket of the annual amount."""
    counts = status_counts(fiscal_year)
    rows = []
    qs = Assessment.objects.filter(fiscal_year=fiscal_year, is_current=True)
    for index, low in enumerate(BRACKETS):
        high = BRACKETS[index + 1] if index + 1 < len(BRACKETS) else None
        part = (
            qs.filter(total__gte=low) if high is None else qs.filter(total__gte=low, total__lt=high)
        )
        if low == 0:
            part = qs.filter(total=0)
        agg = part.aggregate(n=Count("id"), levy=Sum("total"))
        rows.append({"low": low, "high": high, "count": agg["n"], "levy": agg["levy"] or 0})
    return {"counts": counts, "brackets": rows}


def fiscal_years() -> list[int]:
    years = set(Assessment.objects.values_list("fiscal_year", flat=True).distinct()) | set(
        residenttax.known_fiscal_years()
    )
    return sorted(years, reverse=True)


def recent_runs(limit: int = 30) -> QuerySet[AssessmentRun]:
    return AssessmentRun.objects.select_related("created_by").order_by("-id")[:limit]


def employer_special_collections(employer, fiscal_year: int) -> QuerySet[SpecialCollection]:
    return (
        SpecialCollection.objects.filter(employer=employer, fiscal_year=fiscal_year)
        .select_related("resident")
        .order_by("resident__search_kana", "resident_id")
    )


def certificate_rows(resident, fiscal_year: int) -> list[tuple[str, int]] | None:
    """What the 課税証明書 prints for a year: income, deductions, and each levy (procedures'
    tax-certificate registry calls this). None when the year was not assessed here."""
    a = current_assessment(resident, fiscal_year)
    if a is None:
        return None
    r = a.result
    return [
        ("総所得金額", r["total_income"]),
        ("所得控除額", r["deductions"]),
        ("課税標準額", r["taxable"]),
        ("市民税 所得割額", r["income_levy_city"]),
        ("市民税 均等割額", r["per_capita_city"]),
        ("県民税 所得割額", r["income_levy_pref"]),
        ("県民税 均等割額", r["per_capita_pref"]),
        ("森林環境税", r["forest_tax"]),
        ("年税額", a.total),
    ]
