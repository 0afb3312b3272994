"""Assessment runs (当初課税 and re-runs after corrections) and what they do to the bills.

A run assesses every resident liable on 1 January of the fiscal year (地方税法294条1項・318条:
the city of the address on 賦課期日) for whom the city has a declaration or a salary report,
in chunks of residents in id order, each chunk in one transaction together with the run's cursor
and counters. A worker that dies leaves the run ``running`` with its cursor; executing it again
continues after the cursor (an advisory lock keeps two workers off one run, as payments' batch runs
do), and a resident already assessed with the same inputs and rules is left alone, so a repeated
chunk changes nothing.

Each resident whose figures changed gets a new :class:`~taxes.models.Assessment` version (当初課税
the first time, 更正 after) and the collection follows:

- 普通徴収 of a 当初課税 run is billed through payments' own billing run (``payments.batches``'s
  public ``submit``/``execute``: one set-based statement per chunk, installments split by the
  statute's rule) into the unified statement, with convenience-store barcodes.
- A 更正 adjusts the charges through ``payments.services.correct_charge`` (adjusting entries,
  never editing paid history): installments whose due date has passed keep their amounts, the
  rest is spread over the later ones; a reduction below what was paid becomes the payer's credit
  (過誤納金, refunded or applied by a clerk); an increase after the last due date is a new charge.
- 特別徴収 lives here (the employer, not the resident, pays it in): twelve monthly amounts per
  employer, re-spread over the months not yet deducted after a 更正.

Kept in one file: the run's machinery (chunks, cursor, advisory lock) and what a run does to the
bills are one transaction per chunk; splitting them would spread one transaction's rules over two
files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import defaultdict
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cityhall import audit
from payments import batches as payment_batches
from payments import selectors as payment_selectors
from payments import services as payment_services
from residents.selectors import residents_on

from . import collection, inputs, residenttax, season
from .models import (
    Assessment,
    AssessmentRun,
    Declaration,
    RunTaxpayer,
    SalaryReport,
    SpecialCollection,
    TaxCharge,
)

logger = logging.getLogger(__name__)

CHUNK = 5_000
RUN_LOCK_CLASS = 72_013  # first key of the two-key advisory lock: "taxes assessment run"
REVENUE = "resident_tax"


def initial_origin(fiscal_year: int, resident_id: int) -> str:
    """The origin payments' billing run gives the 当初課税 charge of a resident."""
    return f"assessment:{REVENUE}:{fiscal_year}:taxes-{resident_id}"


# --- runs --------------------------------------------------------------------------------------


def submit_run(
    *, fiscal_year: int, kind: str, actor, params: dict | None = None, queue: bool = True
) -> AssessmentRun:
    """Create (or find) a run and queue it. A 当初課税 run is once per fiscal year; a re-run is
    once per ``params["token"]`` (the form's, so a double click is one run)."""
    if actor is None or not actor.has_perm("taxes.add_assessmentrun"):
        raise PermissionDenied(_("課税処理を実行できるのは係長と管理者です。"))
    if kind not in AssessmentRun.Kind.values:
        raise ValidationError({"kind": [f"unknown kind {kind!r}"]})
    residenttax.rules_for(fiscal_year)
    params = dict(params or {})
    key = {"fiscal_year": fiscal_year, "kind": kind}
    if kind == AssessmentRun.Kind.RECOMPUTE:
        key |= {"token": params.get("token") or timezone.now().isoformat()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        run, created = AssessmentRun.objects.get_or_create(
            fiscal_year=fiscal_year,
            kind=kind,
            input_digest=digest,
            defaults={"params": params, "created_by": actor},
        )
        if created:
            audit.record(action="taxes.run_submitted", actor=actor, obj=run, details=key)
            if queue:
                from .tasks import run_assessment

                transaction.on_commit(lambda: run_assessment.delay(run.pk))
    return run


def _try_lock(run_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, run_id])
        return bool(cursor.fetchone()[0])


def _unlock(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_CLASS, run_id])


def execute_run(run_id: int, *, today: date | None = None) -> AssessmentRun:
    """Run or resume; a finished run is returned as it is, one another worker holds is left.
    A failed run resumes after its cursor (each chunk committed or rolled back whole)."""
    run = AssessmentRun.objects.get(pk=run_id)
    if run.state == AssessmentRun.State.SUCCEEDED:
        return run
    if not _try_lock(run.pk):
        return run
    try:
        AssessmentRun.objects.filter(pk=run.pk).update(
            state=AssessmentRun.State.RUNNING,
            started_at=run.started_at or timezone.now(),
            error="",
            finished_at=None,
        )
        try:
            _execute(run.pk, today=today or timezone.localdate())
        except Exception as error:
            AssessmentRun.objects.filter(pk=run.pk).update(
                state=AssessmentRun.State.FAILED,
                error=f"{type(error).__name__}: {error}"[:4000],
                finished_at=timezone.now(),
            )
            raise
        AssessmentRun.objects.filter(pk=run.pk).update(
            state=AssessmentRun.State.SUCCEEDED, finished_at=timezone.now()
        )
    finally:
        _unlock(run.pk)
    run.refresh_from_db()
    return run


def orphaned_runs() -> list[int]:
    """Runs left ``running`` by a worker that is gone (nobody holds their lock)."""
    orphans = []
    for run_id in AssessmentRun.objects.filter(state=AssessmentRun.State.RUNNING).values_list(
        "pk", flat=True
    ):
        if _try_lock(run_id):
            _unlock(run_id)
            orphans.append(run_id)
    return orphans


def candidates(run: AssessmentRun):
    """Ids of the residents the run assesses, in order."""
    fiscal_year = run.fiscal_year
    declared = Declaration.objects.filter(
        fiscal_year=fiscal_year, status__in=Declaration.COUNTED
    ).values("resident_id")
    reported = SalaryReport.objects.filter(income_year=fiscal_year - 1).values("resident_id")
    qs = residents_on(date(fiscal_year, 1, 1)).filter(Q(pk__in=declared) | Q(pk__in=reported))
    only = run.params.get("resident_ids")
    if only:
        qs = qs.filter(pk__in=only)
    return qs.order_by("pk").values_list("pk", flat=True)


def _stage(run: AssessmentRun) -> int:
    """Fix the run's population in one statement (taxes_runtaxpayer), once."""
    sql, params = candidates(run).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO taxes_runtaxpayer (run_id, resident_id) "
            f"SELECT %s, c.resident_id FROM ({sql}) AS c(resident_id) ON CONFLICT DO NOTHING",
            [run.pk, *params],
        )
        cursor.execute("ANALYZE taxes_runtaxpayer")
        cursor.execute("SELECT COUNT(*) FROM taxes_runtaxpayer WHERE run_id = %s", [run.pk])
        return cursor.fetchone()[0]


def _execute(run_id: int, *, today: date) -> None:
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().get(pk=run_id)
        if not run.params.get("staged"):
            run.total = _stage(run)
            run.params = {**run.params, "staged": True}
            run.save(update_fields=["total", "params"])
    while True:
        with transaction.atomic():
            run = AssessmentRun.objects.select_for_update().get(pk=run_id)
            ids = list(
                RunTaxpayer.objects.filter(run=run, resident_id__gt=run.cursor)
                .order_by("resident_id")
                .values_list("resident_id", flat=True)[:CHUNK]
            )
            if not ids:
                break
            counts = _assess_chunk(run, ids, today=today)
            AssessmentRun.objects.filter(pk=run.pk).update(
                cursor=ids[-1],
                processed=F("processed") + len(ids),
                assessed_count=F("assessed_count") + counts["assessed"],
                changed_count=F("changed_count") + counts["changed"],
                unchanged_count=F("unchanged_count") + counts["unchanged"],
                exempt_count=F("exempt_count") + counts["exempt"],
                failed_count=F("failed_count") + len(counts["problems"]),
                levy_total=F("levy_total") + counts["levy"],
            )
            if counts["problems"]:
                run.refresh_from_db(fields=["problems"])
                AssessmentRun.objects.filter(pk=run.pk).update(
                    problems=(run.problems + counts["problems"])[-500:]
                )
    run = AssessmentRun.objects.get(pk=run_id)
    if run.kind == AssessmentRun.Kind.INITIAL and not run.billed:
        _bill_initial(run)
        AssessmentRun.objects.filter(pk=run.pk).update(billed=True)


# --- one chunk ---------------------------------------------------------------------------------


REPORT_FIELDS = (
    "id",
    "resident_id",
    "employer_id",
    "payment",
    "social_insurance",
    "life_insurance",
    "earthquake_insurance",
    "housing_loan_credit",
    "spouse",
    "dependants",
    "personal",
    "collection",
    "left_on",
    "line_no",
)


def _inputs_for(run: AssessmentRun, ids: list[int]) -> dict[int, dict]:
    """Per resident: birth date, counted declaration (id, data), salary reports as dicts (read
    once per chunk, as plain values: model instances cost more than the calculation). Each read
    takes the chunk's id range (an index range scan, not a list of thousands of parameters); the
    residents of the range who are not in the run are dropped here."""
    fiscal_year = run.fiscal_year
    wanted = set(ids)
    span = (ids[0], ids[-1])
    out: dict[int, dict] = {
        pk: {"birth_date": born, "declaration": None, "reports": []}
        for pk, born in residents_on(date(fiscal_year, 1, 1))
        .filter(pk__range=span)
        .values_list("pk", "birth_date")
        if pk in wanted
    }
    for resident_id, pk, data in Declaration.objects.filter(
        fiscal_year=fiscal_year,
        status__in=Declaration.COUNTED,
        resident_id__gte=span[0],
        resident_id__lte=span[1],
    ).values_list("resident_id", "pk", "data"):
        if resident_id in out:
            out[resident_id]["declaration"] = (pk, data)
    for report in (
        SalaryReport.objects.filter(
            income_year=fiscal_year - 1, resident_id__gte=span[0], resident_id__lte=span[1]
        )
        .order_by("line_no", "pk")
        .values(*REPORT_FIELDS)
    ):
        if report["resident_id"] in out:
            out[report["resident_id"]]["reports"].append(report)
    return out


def _special_employer(reports: list[dict]) -> int | None:
    """The employer that deducts: the largest salary among reports asking for 特別徴収 whose
    employee had not left (321条の4: the employer paying the salary on 1 April)."""
    special = [
        r
        for r in reports
        if r["collection"] == SalaryReport.Collection.SPECIAL and not r["left_on"]
    ]
    if not special:
        return None
    return max(special, key=lambda r: (r["payment"], -r["id"]))["employer_id"]


def assess_one(*, fiscal_year: int, birth_date: date, declaration_data, reports) -> tuple:
    """(residenttax.Declaration, residenttax.Assessment) from a declaration's data, else from
    the salary reports (dicts with the fields of ``REPORT_FIELDS``)."""
    if declaration_data is not None:
        d = inputs.from_declaration(
            declaration_data, fiscal_year=fiscal_year, birth_date=birth_date
        )
    else:
        d = inputs.from_reports(reports, fiscal_year=fiscal_year, birth_date=birth_date)
    return d, residenttax.assess(d, **season.city_options())


ASSESSMENT_COLUMNS = (
    "resident_id",
    "fiscal_year",
    "version",
    "kind",
    "is_current",
    "reason",
    "run_id",
    "declaration_id",
    "rule_version",
    "grade",
    "designated_city",
    "inputs",
    "result",
    "total_income",
    "taxable",
    "income_levy",
    "per_capita",
    "forest_tax",
    "total",
    "exempt_income_levy",
    "exempt_per_capita",
    "collection",
    "employer_id",
    "schedule",
    "created_by_id",
    "created_at",
)
SPECIAL_COLUMNS = (
    "resident_id",
    "fiscal_year",
    "employer_id",
    "assessment_id",
    "months",
    "stopped_after",
    "stop_reason",
    "updated_at",
)


# One encoder for the run: json.dumps with options builds a new JSONEncoder on every call, and a
# chunk encodes three documents per taxpayer.
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value) -> str:
    """One value in COPY's text format (backslash, tab and line breaks escaped)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    text = str(value)
    # Most cells (numbers, JSON, names) need no escaping: a scan in C, not a translate.
    if text.isprintable() and "\\" not in text:
        return text
    return text.translate(_COPY_ESCAPES)


def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows into a table: set-based, what a chunk of a batch run writes."""
    if not rows:
        return
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(map(_cell, row)))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _assess_chunk(run: AssessmentRun, ids: list[int], *, today: date) -> dict:
    """Assess a chunk of residents and write what changed: new versions with ``COPY`` (set-based:
    a batch of ORM instances costs more than the calculation), the replaced versions flagged in
    one UPDATE, new 特別徴収 schedules with ``COPY``; a 更正's collection follows one by one."""
    fiscal_year = run.fiscal_year
    data = _inputs_for(run, ids)
    old_rows = {
        row["resident_id"]: row
        for row in Assessment.objects.filter(
            fiscal_year=fiscal_year,
            is_current=True,
            resident_id__gte=ids[0],
            resident_id__lte=ids[-1],
        ).values("pk", "resident_id", "version", "result", "collection", "employer_id")
    }
    options = season.city_options()
    counts = {"assessed": 0, "changed": 0, "unchanged": 0, "exempt": 0, "levy": 0, "problems": []}
    now = timezone.now().isoformat()
    reason = run.params.get("reason", "")
    rows: list[tuple] = []
    specials: dict[int, tuple[int, list[int]]] = {}
    replaced: list[int] = []
    for resident_id in ids:
        item = data.get(resident_id)
        if item is None:
            continue
        declaration = item["declaration"]
        try:
            d, result = assess_one(
                fiscal_year=fiscal_year,
                birth_date=item["birth_date"],
                declaration_data=declaration[1] if declaration else None,
                reports=item["reports"],
            )
        except ValueError as error:
            counts["problems"].append({"resident_id": resident_id, "reason": str(error)[:300]})
            continue
        result_dict = result.as_dict()
        old = old_rows.get(resident_id)
        if old is not None and old["result"] == result_dict:
            counts["unchanged"] += 1
            continue
        employer_id = _special_employer(item["reports"]) if result.total else None
        method = (
            Assessment.Collection.NONE
            if not result.total
            else Assessment.Collection.SPECIAL
            if employer_id
            else Assessment.Collection.ORDINARY
        )
        if old is not None:
            # A 更正 keeps the way the tax is collected (the employer was notified in May).
            if old["collection"] != Assessment.Collection.NONE:
                method = old["collection"]
            employer_id = old["employer_id"] if method == Assessment.Collection.SPECIAL else None
            if method == Assessment.Collection.NONE and result.total:
                method = Assessment.Collection.ORDINARY
            replaced.append(old["pk"])
            counts["changed"] += 1
        schedule = _schedule(result, method, fiscal_year)
        if method == Assessment.Collection.SPECIAL and old is None:
            specials[resident_id] = (employer_id, schedule["special"])
        rows.append(
            (
                resident_id,
                fiscal_year,
                old["version"] + 1 if old else 1,
                Assessment.Kind.CORRECTION if old else Assessment.Kind.INITIAL,
                True,
                reason if old else "",
                run.pk,
                declaration[0] if declaration else None,
                result.rule_version,
                options["grade"],
                options["designated_city"],
                _json(residenttax.declaration_to_dict(d)),
                _json(result_dict),
                result.total_income,
                result.taxable,
                result.income_levy,
                result.per_capita,
                result.forest_tax,
                result.total,
                result.exempt_income_levy,
                result.exempt_per_capita,
                method,
                employer_id,
                _json(schedule),
                run.created_by_id,
                now,
            )
        )
        counts["assessed"] += 1
        counts["exempt"] += int(result.exempt_per_capita)
        counts["levy"] += result.total
    if replaced:
        Assessment.objects.filter(pk__in=replaced).update(is_current=False)
    _copy("taxes_assessment", ASSESSMENT_COLUMNS, rows)
    follow_up = {row[0] for row in rows if row[2] > 1 or run.kind == AssessmentRun.Kind.RECOMPUTE}
    if fiscal_year == 2024:
        follow_up |= {row[0] for row in rows}
    wanted = set(specials) | follow_up
    new_ids = (
        {
            resident_id: pk
            for resident_id, pk in Assessment.objects.filter(
                run=run,
                fiscal_year=fiscal_year,
                is_current=True,
                resident_id__gte=ids[0],
                resident_id__lte=ids[-1],
            ).values_list("resident_id", "pk")
            if resident_id in wanted
        }
        if wanted
        else {}
    )
    _copy(
        "taxes_specialcollection",
        SPECIAL_COLUMNS,
        [
            (
                rid,
                fiscal_year,
                employer_id,
                new_ids[rid],
                "{" + ",".join(map(str, months)) + "}",
                None,
                "",
                now,
            )
            for rid, (employer_id, months) in specials.items()
        ],
    )
    changed = {row[0] for row in rows if row[2] > 1}
    for assessment in Assessment.objects.filter(pk__in=[new_ids[rid] for rid in follow_up]):
        if assessment.resident_id in changed:
            apply_correction(assessment=assessment, actor=run.created_by, today=today)
        elif assessment.collection == Assessment.Collection.ORDINARY:
            # A late first assessment (or 令和6年度's reduction split): billed one by one.
            _bill_ordinary(
                assessment,
                actor=run.created_by,
                today=today,
                regular=run.kind == AssessmentRun.Kind.INITIAL,
            )
    return counts


def _schedule(result: residenttax.Assessment, method: str, fiscal_year: int) -> dict:
    flat = result.flat_reduction_city + result.flat_reduction_pref
    if method == Assessment.Collection.SPECIAL:
        return {"special": collection.special_monthly(result.total, fiscal_year)}
    if method == Assessment.Collection.ORDINARY:
        return {
            "ordinary": collection.ordinary_installments(
                result.total, fiscal_year, flat_reduction=flat
            )
        }
    return {}


# --- billing -----------------------------------------------------------------------------------


def _revenue():
    revenue = payment_selectors.revenue_by_code(REVENUE)
    if revenue is None:
        raise ValidationError(_("歳入科目「個人住民税」（resident_tax）がありません。"))
    return revenue


def _regular_dates(fiscal_year: int) -> list[date]:
    return [date(fiscal_year + (m < 4), m, d) for m, d in _revenue().schedule]


def _bill_initial(run: AssessmentRun) -> None:
    """The 普通徴収 of the run's first assessments, through payments' billing run: a CSV in its
    documented layout (assessment_key, resident_code, revenue_code, fiscal_year, amount), one
    line per taxpayer, submitted and executed like any billing file (same file, same run)."""
    fiscal_year = run.fiscal_year
    billed = Assessment.objects.filter(
        run=run,
        kind=Assessment.Kind.INITIAL,
        collection=Assessment.Collection.ORDINARY,
        total__gt=0,
    )
    if fiscal_year == 2024:
        return  # billed one by one in the chunk (the 定額減税 split)
    _revenue()  # a clear error, before any file is written, when the revenue is missing
    codes = dict(
        residents_on(date(fiscal_year, 1, 1))
        .filter(pk__in=billed.values("resident_id"))
        .values_list("pk", "resident_code")
    )
    lines = ["assessment_key,resident_code,revenue_code,fiscal_year,amount,parcel_key"]
    links = []
    now = timezone.now().isoformat()
    for resident_id, total in billed.order_by("resident_id").values_list("resident_id", "total"):
        lines.append(f"taxes-{resident_id},{codes[resident_id]},{REVENUE},{fiscal_year},{total},")
        links.append(
            (resident_id, fiscal_year, initial_origin(fiscal_year, resident_id), "ordinary", now)
        )
    if not links:
        return
    billing = payment_batches.submit(
        kind="billing", data=("\n".join(lines) + "\n").encode(), actor=run.created_by, queue=False
    )
    billing = payment_batches.execute(billing.pk)
    if billing.state != "succeeded" or billing.failed_count:
        # Every line names a resident of the register: a line payments could not bill is a
        # fault to look at, not a run to call done.
        raise ValidationError(
            _("普通徴収の調定で%(n)s件が請求できませんでした（収納バッチ #%(id)s）。")
            % {"n": billing.failed_count, "id": billing.pk}
        )
    with transaction.atomic():
        # Once: a resumed run finds the links of its first attempt.
        if not TaxCharge.objects.filter(origin=links[0][2]).exists():
            _copy(
                "taxes_taxcharge",
                ("resident_id", "fiscal_year", "origin", "purpose", "created_at"),
                links,
            )
    AssessmentRun.objects.filter(pk=run.pk).update(
        params={**AssessmentRun.objects.get(pk=run.pk).params, "billing_run": billing.pk}
    )


def charge_installments(resident, fiscal_year: int) -> list[dict]:
    """The installments of every charge this tax holds for the resident and year, in due order."""
    origins = list(
        TaxCharge.objects.filter(resident=resident, fiscal_year=fiscal_year).values_list(
            "origin", flat=True
        )
    )
    charges = {}
    for origin in origins:
        charge = payment_selectors.charge_for_origin(origin)
        if charge is not None:
            charges[charge.pk] = charge
    rows = [
        row
        for row in payment_selectors.installments_for_resident(resident)
        if row["charge_id"] in charges
    ]
    for row in rows:
        row["charge"] = charges[row["charge_id"]]
    return sorted(rows, key=lambda r: (r["due_on"], r["charge_id"], r["number"]))


def _new_charge(
    *,
    resident,
    fiscal_year: int,
    parts: list[tuple[date, int]],
    purpose: str,
    suffix: str,
    actor,
    description: str,
):
    origin = f"taxes:{fiscal_year}:{resident.pk}:{suffix}"
    charge = payment_services.create_charge(
        payer=resident,
        revenue=_revenue(),
        fiscal_year=fiscal_year,
        installments=parts,
        description=description,
        legal_basis="地方税法319条・320条・321条の7",
        origin=origin,
        actor=actor,
    )
    TaxCharge.objects.create(
        resident_id=charge.payer_id, fiscal_year=fiscal_year, origin=origin, purpose=purpose
    )
    return charge


def _bill_ordinary(assessment: Assessment, *, actor, today: date, regular: bool) -> None:
    """Bill a first assessment by itself: on the regular due dates (a 当初課税), or on those still
    ahead of a notice sent today (随時課税 after the run), else one date next month."""
    fiscal_year = assessment.fiscal_year
    if regular:
        dates = _regular_dates(fiscal_year)
        amounts = assessment.schedule["ordinary"]
    else:
        dates = collection.ordinary_due_dates_after(_revenue().schedule, fiscal_year, today) or [
            collection.extra_due_date(today)
        ]
        amounts = collection.split(assessment.total, len(dates))
    from residents.selectors import get_resident

    resident = get_resident(assessment.resident_id)
    _new_charge(
        resident=resident,
        fiscal_year=fiscal_year,
        parts=list(zip(dates, amounts, strict=True)),
        purpose=TaxCharge.Purpose.ORDINARY,
        suffix=f"ordinary:v{assessment.version}",
        actor=actor,
        description=f"{fiscal_year}年度 個人住民税（普通徴収）",
    )


def bill_moved_remainder(*, resident, fiscal_year: int, amount: int, actor, today: date):
    """What an employer no longer deducts, as 普通徴収 on the due dates still ahead."""
    dates = collection.ordinary_due_dates_after(_revenue().schedule, fiscal_year, today) or [
        collection.extra_due_date(today)
    ]
    parts = collection.split(amount, len(dates))
    n = TaxCharge.objects.filter(
        resident=resident, fiscal_year=fiscal_year, purpose=TaxCharge.Purpose.MOVED
    ).count()
    return _new_charge(
        resident=resident,
        fiscal_year=fiscal_year,
        parts=list(zip(dates, parts, strict=True)),
        purpose=TaxCharge.Purpose.MOVED,
        suffix=f"moved:{n + 1}",
        actor=actor,
        description=f"{fiscal_year}年度 個人住民税（特別徴収から普通徴収へ）",
    )


def _passed_months(fiscal_year: int, today: date) -> int:
    """特別徴収 months already deducted or being deducted (this month's salary included)."""
    return sum(
        1 for ym in collection.special_months(fiscal_year) if ym <= (today.year, today.month)
    )


def apply_correction(*, assessment: Assessment, actor, today: date) -> None:
    """Make the collection match a 更正 (see the module docstring)."""
    from residents.selectors import get_resident

    resident = get_resident(assessment.resident_id)
    fiscal_year = assessment.fiscal_year
    special = (
        SpecialCollection.objects.select_for_update()
        .filter(resident_id=assessment.resident_id, fiscal_year=fiscal_year)
        .first()
    )
    reason = f"{fiscal_year}年度 個人住民税 更正（第{assessment.version}版）"
    if special is not None and special.stopped_after is None:
        months, extra = collection.respread(
            assessment.total,
            list(special.months),
            _passed_months(fiscal_year, today),
            unit=collection.MONTHLY_UNIT,
        )
        special.months = months
        special.assessment = assessment
        special.save(update_fields=["months", "assessment", "updated_at"])
        Assessment.objects.filter(pk=assessment.pk).update(schedule={"special": months})
        if extra:
            _new_charge(
                resident=resident,
                fiscal_year=fiscal_year,
                parts=[(collection.extra_due_date(today), extra)],
                purpose=TaxCharge.Purpose.EXTRA,
                suffix=f"extra:v{assessment.version}",
                actor=actor,
                description=reason,
            )
        return
    deducted = special.total if special is not None else 0
    adjust_ordinary(
        resident=resident,
        fiscal_year=fiscal_year,
        target=max(0, assessment.total - deducted),
        version=assessment.version,
        reason=reason,
        actor=actor,
        today=today,
    )


def adjust_ordinary(
    *, resident, fiscal_year: int, target: int, version: int, reason: str, actor, today: date
) -> None:
    """Bring the 普通徴収 charges of a resident and year to ``target`` yen by adjusting entries."""
    rows = charge_installments(resident, fiscal_year)
    if not rows:
        if target > 0:
            dates = collection.ordinary_due_dates_after(
                _revenue().schedule, fiscal_year, today
            ) or [collection.extra_due_date(today)]
            _new_charge(
                resident=resident,
                fiscal_year=fiscal_year,
                parts=list(zip(dates, collection.split(target, len(dates)), strict=True)),
                purpose=TaxCharge.Purpose.EXTRA,
                suffix=f"extra:v{version}",
                actor=actor,
                description=reason,
            )
        return
    cutoff = today.toordinal() + collection.NOTICE_DAYS_BEFORE_DUE
    fixed = sum(1 for row in rows if row["due_on"].toordinal() < cutoff)
    amounts, extra = collection.respread(
        target, [row["amount"] for row in rows], fixed, unit=collection.INSTALLMENT_UNIT
    )
    changes: dict[int, dict[int, int]] = defaultdict(dict)
    for row, amount in zip(rows, amounts, strict=True):
        if amount != row["amount"]:
            changes[row["charge_id"]][row["number"]] = amount
    charges = {row["charge_id"]: row["charge"] for row in rows}
    for charge_id in sorted(changes):
        payment_services.correct_charge(
            charge=charges[charge_id], new_amounts=changes[charge_id], reason=reason, clerk=actor
        )
    if extra:
        _new_charge(
            resident=resident,
            fiscal_year=fiscal_year,
            parts=[(collection.extra_due_date(today), extra)],
            purpose=TaxCharge.Purpose.EXTRA,
            suffix=f"extra:v{version}",
            actor=actor,
            description=reason,
        )
