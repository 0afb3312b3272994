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
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
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
# Taxpayers per 普通徴収 billing file in an overlapped run: big enough that payments' set-based
# statements pay off (ten files for 200,000 taxpayers), small enough to bill behind the writer.
BILL_EVERY = 20_000
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
    if connection.in_atomic_block:
        # Inside a caller's transaction (a shell, a test) no second connection would see its
        # rows: each chunk is read, assessed and written here, one after the other.
        while True:
            with transaction.atomic():
                run = AssessmentRun.objects.select_for_update().get(pk=run_id)
                ids = _next_ids(run, run.cursor)
                if not ids:
                    break
                counts = _assess_chunk(run, ids, today=today)
                _advance(run, ids, counts)
        billing_runs = []
    else:
        billing_runs = _execute_overlapped(run_id, today=today)
    run = AssessmentRun.objects.get(pk=run_id)
    if run.kind == AssessmentRun.Kind.INITIAL and not run.billed:
        # Everything (one by one), or what the overlapped billing left (a resumed run's first
        # chunks, else nothing).
        billing_runs.append(_bill_initial(run))
        AssessmentRun.objects.filter(pk=run.pk).update(
            billed=True,
            params={**run.params, "billing_runs": [pk for pk in billing_runs if pk]},
        )


def _next_ids(run: AssessmentRun, after: int) -> list[int]:
    return list(
        RunTaxpayer.objects.filter(run=run, resident_id__gt=after)
        .order_by("resident_id")
        .values_list("resident_id", flat=True)[:CHUNK]
    )


def _advance(run: AssessmentRun, ids: list[int], counts: dict) -> None:
    """Move the run's cursor past a chunk with its counters (in the chunk's transaction)."""
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


def _commit_chunk(run_id: int, plan: _Plan, *, today: date) -> None:
    """Write one planned chunk and move the cursor, in one transaction (the writer thread)."""
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().get(pk=run_id)
        if run.cursor != plan.after:
            # Only the holder of the run's advisory lock moves the cursor: a plan made for
            # another cursor would write a chunk twice or skip one.
            raise RuntimeError(f"run {run_id}: cursor {run.cursor}, plan after {plan.after}")
        counts = _write_chunk(run, plan, today=today)
        _advance(run, plan.ids, counts)


def _execute_overlapped(run_id: int, *, today: date) -> list[int | None]:
    """The chunks of a run with the calculation of chunk N+1 (Python, in this thread) overlapping
    the write of chunk N (COPY, index and foreign-key work, commit: in the PostgreSQL server
    process, the writer thread waits with the GIL released). The writer has its own connection
    and commits each chunk with the run's cursor, exactly as the one-by-one loop does, so a
    worker that dies leaves the run at the last committed chunk. Chunks touch disjoint
    residents, so planning N+1 never reads what N writes; at most one chunk waits.

    A 当初課税's 普通徴収 is billed the same way, behind the writer: every ``BILL_EVERY``
    committed taxpayers go to payments' billing run as one file, in a third thread with its own
    connection (charges and installments are payments' tables, apart from the writer's). What a
    dying worker left unbilled is billed by the run's last step (see :func:`_bill_initial`).
    Returns the billing runs' ids."""
    run = AssessmentRun.objects.get(pk=run_id)
    billing = run.kind == AssessmentRun.Kind.INITIAL and not run.billed and run.fiscal_year != 2024
    after = run.cursor
    group: list[int] = []  # [first, last] resident of the committed chunks not billed yet
    group_size = 0
    bills: list[Future] = []
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="taxes-writer") as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="taxes-biller") as biller,
    ):
        pending: Future | None = None
        pending_ids: list[int] = []

        def committed(ids: list[int], *, last: bool = False) -> None:
            nonlocal group, group_size
            if not billing:
                return
            if ids:
                group = [group[0] if group else ids[0], ids[-1]]
                group_size += len(ids)
            if group and (group_size >= BILL_EVERY or last):
                bills.append(biller.submit(_bill_initial, run, (group[0], group[1])))
                group, group_size = [], 0
            for bill in bills:
                if bill.done():
                    bill.result()  # a billing error stops the run here

        try:
            while ids := _next_ids(run, after):
                plan = _plan_chunk(run, ids, after=after)
                if pending is not None:
                    pending.result()  # the previous chunk's error stops the run here
                    committed(pending_ids)
                pending = writer.submit(_commit_chunk, run_id, plan, today=today)
                pending_ids, after = ids, ids[-1]
            if pending is not None:
                pending.result()
            committed(pending_ids, last=True)
            return [bill.result() for bill in bills]
        finally:
            wait([f for f in [pending, *bills] if f is not None])
            writer.submit(connections.close_all).result()
            biller.submit(connections.close_all).result()


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
# The JSON columns of a salary report, read as text and parsed by orjson (Django's JSONField
# parses with the standard library's json, several times slower on a run's volume).
REPORT_JSON_FIELDS = ("life_insurance", "spouse", "dependants", "personal")


def _as_text(name: str) -> Cast:
    return Cast(name, output_field=TextField())


def _inputs_for(run: AssessmentRun, ids: list[int]) -> dict[int, dict]:
    """Per resident: birth date, counted declaration (id, data), salary reports as dicts (read
    once per chunk, as plain values: model instances cost more than the calculation). Each read
    takes the chunk's id range (an index range scan, not a list of thousands of parameters); the
    residents of the range who are not in the run are dropped here. JSON arrives as text and is
    parsed with orjson."""
    fiscal_year = run.fiscal_year
    wanted = set(ids)
    span = (ids[0], ids[-1])
    loads = orjson.loads
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
    ).values_list("resident_id", "pk", _as_text("data")):
        if resident_id in out:
            out[resident_id]["declaration"] = (pk, loads(data))
    plain = [f for f in REPORT_FIELDS if f not in REPORT_JSON_FIELDS]
    for values in (
        SalaryReport.objects.filter(
            income_year=fiscal_year - 1, resident_id__gte=span[0], resident_id__lte=span[1]
        )
        .order_by("line_no", "pk")
        .values_list(*plain, *(_as_text(f) for f in REPORT_JSON_FIELDS))
    ):
        report = dict(zip(plain, values, strict=False))
        for name, text in zip(REPORT_JSON_FIELDS, values[len(plain) :], strict=True):
            report[name] = None if text is None else loads(text)
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


def _json(value) -> str:
    """JSON text for a jsonb column, by orjson: compact, UTF-8 as is (no \\u escapes), and
    dataclasses field by field — residenttax's Declaration and Assessment serialise to exactly
    ``declaration_to_dict`` and ``Assessment.as_dict`` (a test holds this), without building
    the dicts first."""
    return orjson.dumps(value).decode()


NULL = "\\N"  # COPY's text format for NULL
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


def _json_cell(value) -> str:
    """JSON in COPY's text format: orjson escapes every control character inside strings, so
    the text has no tab or line break of its own and only backslashes need doubling."""
    text = orjson.dumps(value).decode()
    return text.replace("\\", "\\\\") if "\\" in text else text


def _copy_text(rows: list[tuple]) -> str:
    return "".join("\t".join(map(_cell, row)) + "\n" for row in rows)


def _copy(table: str, columns: tuple[str, ...], text: str) -> None:
    """COPY rows (already in COPY's text format) into a table: set-based, what a chunk of a
    batch run writes. One megabyte per write: fewer round trips into the C library."""
    if not text:
        return
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text), size=1 << 20
        )


@dataclass
class _Plan:
    """A chunk assessed but not written: what :func:`_write_chunk` needs, the new assessment
    rows already in COPY's text format (built in the calculating thread)."""

    ids: list[int]
    after: int  # the run's cursor this chunk starts after
    text: str  # taxes_assessment rows, COPY text
    written: list[tuple[int, int]]  # (resident_id, version) of each new row
    specials: dict[int, tuple[int, list[int]]]  # resident_id: (employer_id, twelve months)
    replaced: list[int]  # ids of the versions the new rows replace
    counts: dict


def _plan_chunk(run: AssessmentRun, ids: list[int], *, after: int) -> _Plan:
    """Read and assess a chunk of residents, writing nothing: the rows of every new version
    (当初課税 the first time, 更正 when the result changed) and the versions they replace."""
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
    # The cells every row of the run shares, formatted once.
    now = _cell(timezone.now().isoformat())
    reason = _cell(run.params.get("reason", ""))
    shared = f"{run.pk}"
    city = f"{options['grade']}\t{_cell(options['designated_city'])}"
    created_by = _cell(run.created_by_id)
    lines: list[str] = []
    written: list[tuple[int, int]] = []
    specials: dict[int, tuple[int, list[int]]] = {}
    replaced: list[int] = []
    ORDINARY, SPECIAL, NONE = (
        Assessment.Collection.ORDINARY.value,
        Assessment.Collection.SPECIAL.value,
        Assessment.Collection.NONE.value,
    )
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
        old = old_rows.get(resident_id)
        if old is not None and old["result"] == result.as_dict():
            counts["unchanged"] += 1
            continue
        total = result.total
        employer_id = _special_employer(item["reports"]) if total else None
        method = NONE if not total else SPECIAL if employer_id else ORDINARY
        if old is not None:
            # A 更正 keeps the way the tax is collected (the employer was notified in May).
            if old["collection"] != NONE:
                method = old["collection"]
            employer_id = old["employer_id"] if method == SPECIAL else None
            if method == NONE and total:
                method = ORDINARY
            replaced.append(old["pk"])
            counts["changed"] += 1
        schedule = _schedule(result, method, fiscal_year)
        if method == SPECIAL and old is None:
            specials[resident_id] = (employer_id, schedule["special"])
        version = old["version"] + 1 if old else 1
        written.append((resident_id, version))
        # ASSESSMENT_COLUMNS, in order.
        lines.append(
            f"{resident_id}\t{fiscal_year}\t{version}\t"
            f"{'correction' if old else 'initial'}\tt\t{reason if old else ''}\t{shared}\t"
            f"{declaration[0] if declaration else NULL}\t{_cell(result.rule_version)}\t{city}\t"
            f"{_json_cell(d)}\t{_json_cell(result)}\t"
            f"{result.total_income}\t{result.taxable}\t{result.income_levy}\t"
            f"{result.per_capita}\t{result.forest_tax}\t{total}\t"
            f"{'t' if result.exempt_income_levy else 'f'}\t"
            f"{'t' if result.exempt_per_capita else 'f'}\t{method}\t"
            f"{NULL if employer_id is None else employer_id}\t{_json_cell(schedule)}\t"
            f"{created_by}\t{now}\n"
        )
        counts["assessed"] += 1
        counts["exempt"] += int(result.exempt_per_capita)
        counts["levy"] += total
    return _Plan(
        ids=ids,
        after=after,
        text="".join(lines),
        written=written,
        specials=specials,
        replaced=replaced,
        counts=counts,
    )


def _write_chunk(run: AssessmentRun, plan: _Plan, *, today: date) -> dict:
    """Write a planned chunk: the replaced versions flagged in one UPDATE, the new versions with
    ``COPY`` (set-based: a batch of ORM instances costs more than the calculation), new 特別徴収
    schedules with ``COPY``; a 更正's collection follows one by one."""
    fiscal_year = run.fiscal_year
    ids = plan.ids
    if plan.replaced:
        Assessment.objects.filter(pk__in=plan.replaced).update(is_current=False)
    _copy("taxes_assessment", ASSESSMENT_COLUMNS, plan.text)
    follow_up = {
        rid for rid, version in plan.written
        if version > 1 or run.kind == AssessmentRun.Kind.RECOMPUTE
    }  # fmt: skip
    if fiscal_year == 2024:
        follow_up |= {rid for rid, _version in plan.written}
    wanted = set(plan.specials) | follow_up
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
    now = timezone.now().isoformat()
    _copy(
        "taxes_specialcollection",
        SPECIAL_COLUMNS,
        _copy_text(
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
                for rid, (employer_id, months) in plan.specials.items()
            ]
        ),
    )
    changed = {rid for rid, version in plan.written if version > 1}
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
    return plan.counts


def _assess_chunk(run: AssessmentRun, ids: list[int], *, today: date) -> dict:
    """Assess a chunk of residents and write what changed (one after the other, in the
    caller's transaction)."""
    return _write_chunk(run, _plan_chunk(run, ids, after=run.cursor), today=today)


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


def _bill_initial(run: AssessmentRun, span: tuple[int, int] | None = None) -> int | None:
    """The 普通徴収 of the run's first assessments (those of residents ``span`` when given) not
    billed yet, through payments' billing run: a CSV in its documented layout (assessment_key,
    resident_code, revenue_code, fiscal_year, amount), one line per taxpayer, submitted and
    executed like any billing file (same file, same run). Returns the billing run's id, or None
    when there was nothing left to bill.

    What is billed is linked (TaxCharge) right after, and what is linked is left out of the
    next file: a resumed run bills only what its first attempt did not (a crash between the
    billing and the links files the same lines again: payments returns that run as it is, and
    its charges are unique by origin anyway)."""
    fiscal_year = run.fiscal_year
    if fiscal_year == 2024:
        return None  # billed one by one in the chunk (the 定額減税 split)
    billed = Assessment.objects.filter(
        run=run,
        kind=Assessment.Kind.INITIAL,
        collection=Assessment.Collection.ORDINARY,
        total__gt=0,
    )
    linked = TaxCharge.objects.filter(
        fiscal_year=fiscal_year, origin__startswith=f"assessment:{REVENUE}:{fiscal_year}:taxes-"
    )
    if span is not None:
        billed = billed.filter(resident_id__gte=span[0], resident_id__lte=span[1])
        linked = linked.filter(resident_id__gte=span[0], resident_id__lte=span[1])
    _revenue()  # a clear error, before any file is written, when the revenue is missing
    done = set(linked.values_list("resident_id", flat=True))
    rows = [
        (resident_id, total)
        for resident_id, total in billed.order_by("resident_id").values_list("resident_id", "total")
        if resident_id not in done
    ]
    if not rows:
        return None
    codes = dict(
        residents_on(date(fiscal_year, 1, 1))
        .filter(pk__in=billed.values("resident_id"))
        .values_list("pk", "resident_code")
    )
    lines = ["assessment_key,resident_code,revenue_code,fiscal_year,amount,parcel_key"]
    links = []
    now = timezone.now().isoformat()
    for resident_id, total in rows:
        lines.append(f"taxes-{resident_id},{codes[resident_id]},{REVENUE},{fiscal_year},{total},")
        links.append(
            (resident_id, fiscal_year, initial_origin(fiscal_year, resident_id), "ordinary", now)
        )
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
    _copy(
        "taxes_taxcharge",
        ("resident_id", "fiscal_year", "origin", "purpose", "created_at"),
        _copy_text(links),
    )
    return billing.pk


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
