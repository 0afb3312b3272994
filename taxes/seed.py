"""Demo resident tax: 令和7年度 (fiscal 2025) as the city would have done it.

Three employers send salary reports (給与支払報告書, the CSV layout of ``formats/salary_report``)
for the demo residents and a few hundred others who lived in the city on 1 January 2025; the
demo residents also declared at the counter (住民税申告, with their household from the register);
a supervisor ran the 当初課税; most taxpayers paid their 普通徴収 installments on time.
Idempotent: the same file is one import, a declaration is found again, the run is once per year.
(The demo's 令和8年度 resident-tax bills are still payments' own seed charges.)
"""

from __future__ import annotations

import random
from datetime import date

from django.db import transaction
from django.utils import timezone

from cityhall.models import User
from cityhall.seeding import SeedContext, step
from payments import selectors as payment_selectors
from payments import services as payment_services
from residents.models import Resident
from residents.selectors import household_members, residents_on

from . import assessing, inputs, services
from .formats import salary_report
from .models import AssessmentRun, Declaration

FISCAL_YEAR = 2025
OTHER_TAXPAYERS = 300
EMPLOYERS = [
    ("201001", "株式会社まちば製作所"),
    ("201002", "まちば信用金庫"),
    ("201003", "有限会社みなと商店"),
]
_CHILD = ("子", "長男", "長女", "二男", "二女", "次男", "次女", "三男", "三女")


def _report(rng: random.Random, person: Resident, *, employer) -> dict:
    salary = rng.randrange(120, 900) * 10_000 + rng.randrange(0, 10) * 1_000
    members = [m for m in household_members(person) if m.pk != person.pk]
    spouse = next((m for m in members if m.relationship in ("妻", "夫") and person.is_head), None)
    children = [
        m
        for m in members
        if person.is_head
        and m.relationship in _CHILD
        and inputs.age_at_year_end(m.birth_date, FISCAL_YEAR) < 23
    ]

    def family(m) -> str:
        return f"{m.family_name_kana} {m.given_name_kana}:{m.birth_date.isoformat()}:0"

    return {
        "employer_number": employer[0],
        "employer_name": employer[1],
        "income_year": FISCAL_YEAR - 1,
        "resident_code": person.resident_code,
        "name_kana": person.full_name_kana,
        "birth_date": person.birth_date.isoformat(),
        "payment": salary,
        "social_insurance": salary * 15 // 100,
        "life_new_general": rng.choice([0, 0, 24_000, 60_000, 96_000]),
        "earthquake_insurance": rng.choice([0, 0, 0, 18_000]),
        "spouse": family(spouse) if spouse else "",
        "dependants": ";".join(family(c) for c in children),
        "widow": 0,
        "working_student": 0,
        "collection": "special" if rng.random() < 0.7 else "ordinary",
    }


def _taxpayers(ctx: SeedContext) -> list[Resident]:
    ids = [info["resident_id"] for info in ctx.shared.get("demo_residents", {}).values()]
    on_jan1 = residents_on(date(FISCAL_YEAR, 1, 1)).filter(
        birth_date__lte=date(FISCAL_YEAR - 21, 1, 1), birth_date__gte=date(FISCAL_YEAR - 66, 1, 1)
    )
    demo = list(on_jan1.filter(pk__in=ids).order_by("pk"))
    others = list(on_jan1.exclude(pk__in=ids).order_by("pk")[:OTHER_TAXPAYERS])
    return demo + others


def _pay_due(payer, today: date, rng: random.Random) -> None:
    """Pay on the due date what fell due before today (one in six leaves the last one unpaid)."""
    rows = [
        r
        for r in payment_selectors.installments_for_resident(payer)
        if r["fiscal_year"] == FISCAL_YEAR
        and r["revenue_code"] == "resident_tax"
        and r["due_on"] < today
        and r["outstanding"] > 0
    ]
    if rows and rng.random() < 1 / 6:
        rows = rows[:-1]
    for row in rows:
        payment = payment_services.create_payment(
            payer=payer,
            channel="konbini",
            amount=row["outstanding"],
            targets=[row["id"]],
            external_ref=f"seed-tax:{row['id']}",
        )
        payment_services.confirm_payment(
            payment_id=payment.pk, paid_on=row["due_on"], received_on=row["due_on"]
        )


@step(order=60)
def demo_resident_tax(ctx: SeedContext) -> None:
    rng = random.Random(ctx.seed + 13)
    clerk = User.objects.filter(email="clerk@demo.machiba.jp").first()
    supervisor = User.objects.filter(email="supervisor@demo.machiba.jp").first()
    if clerk is None or supervisor is None:
        ctx.say("taxes: no demo staff accounts, skipped")
        return
    people = _taxpayers(ctx)
    rows = [_report(rng, p, employer=EMPLOYERS[i % len(EMPLOYERS)]) for i, p in enumerate(people)]
    batch = services.import_salary_reports(
        data=salary_report.render(rows), file_name="kyuyo-shiharai-hokokusho-2024.csv", actor=clerk
    )
    demo_ids = {info["resident_id"] for info in ctx.shared.get("demo_residents", {}).values()}
    declared = 0
    for person in people:
        if person.pk not in demo_ids:
            continue
        with transaction.atomic():
            declaration = services.start_declaration(
                resident=person, user=person.user, fiscal_year=FISCAL_YEAR, filed_by=clerk
            )
            if declaration.status == Declaration.Status.DRAFT:
                report = next(r for r in rows if r["resident_code"] == person.resident_code)
                services.save_topic(
                    declaration=declaration,
                    topic="medical",
                    values={
                        "medical_paid": 180_000,
                        "medical_reimbursed": 0,
                        "medical_expenses": 180_000,
                    },
                    actor=clerk,
                )
                services.save_topic(
                    declaration=declaration,
                    topic="income",
                    values={
                        "salary_revenue": report["payment"],
                        "pension_revenue": 0,
                        "other_income": 0,
                    },
                    actor=clerk,
                )
                services.submit_declaration(declaration=declaration, actor=clerk)
                declared += 1
    run = assessing.submit_run(
        fiscal_year=FISCAL_YEAR, kind=AssessmentRun.Kind.INITIAL, actor=supervisor, queue=False
    )
    run = assessing.execute_run(run.pk, today=date(FISCAL_YEAR, 5, 20))
    today = timezone.localdate()
    for person in people:
        with transaction.atomic():
            _pay_due(person, today, rng)
    ctx.say(
        f"taxes: {batch.imported_count} salary reports, {declared} declarations, run #{run.pk} "
        f"{run.state}: {run.processed} assessed"
    )
