"""The resident tax at city scale: an assessment run over synthetic declarations.

    .venv/bin/python bench/taxes.py [--scale 200000] [--special-share 0.0]

``--scale`` taxpayers, each with a filed 住民税申告 of varied figures (salary or pension, social
and life insurance, a spouse and dependants for some, medical costs and housing-loan credit for
a few). ``--special-share`` of them (default 0.6; salaried ones only, so about half of all) also
have an employer's salary report asking for 特別徴収, as most employees' tax is collected by
their employer (no charge in payments: the employer pays in); the rest are billed 普通徴収
through payments' billing run. ``--special-share 0`` bills everyone (the worst case). Prints:

* ``taxes.assessment_run_seconds`` — the whole 当初課税 run: residenttax for every taxpayer,
  the assessments written (inputs, result, schedule), the 普通徴収 charges and installments
  written through payments' billing run; the target is under 60 s for 200,000 taxpayers;
* ``taxes.assess_module_per_second`` — residenttax.assess alone on the same declarations;
* ``taxes.raw_copy_seconds`` — a plain ``COPY`` of the same rows (assessments, charges and
  installments as the run left them) into unindexed tables: the floor.

One run (no warm-up): a batch job run once a year.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from datetime import date

from _common import bench_database, emit


def _declaration_data(rng: random.Random) -> dict:
    salaried = rng.random() < 0.85
    salary = rng.randrange(100, 1_200) * 10_000 + rng.randrange(0, 1_000) if salaried else 0
    pension = 0 if salaried else rng.randrange(60, 400) * 10_000
    members = []
    if rng.random() < 0.5:
        members.append(
            {
                "key": "x1",
                "claim": "spouse",
                "birth_date": "1982-07-07",
                "income": rng.choice([0, 0, 300_000, 900_000]),
            }
        )
    for i in range(rng.choice([0, 0, 1, 2, 3])):
        born = rng.choice(["2008-04-01", "2012-05-05", "2004-09-09", "2016-01-01"])
        members.append({"key": f"c{i}", "claim": "dependant", "birth_date": born, "income": 0})
    return {
        "income": {"salary_revenue": salary, "pension_revenue": pension, "other_income": 0},
        "insurance": {
            "social_insurance": salary * 15 // 100 + pension // 20,
            "life_new_general": rng.choice([0, 30_000, 80_000]),
            "life_old_general": rng.choice([0, 0, 100_000]),
            "earthquake_insurance": rng.choice([0, 0, 20_000]),
        },
        "family": {"members": members, "widow": False, "single_parent": "", "disability": ""},
        "medical": {"medical_expenses": rng.choice([0] * 9 + [250_000])},
        "housing": {"housing_loan_credit": rng.choice([0] * 9 + [60_000])},
    }


def _copy(cursor, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def _floor(cursor, tables: list[tuple[str, str]]) -> float:
    """COPY the rows the run wrote, out and back into unindexed tables of the same columns."""
    dumps = []
    for table, where in tables:
        out = io.BytesIO()
        cursor.cursor.copy_expert(f"COPY (SELECT * FROM {table} {where}) TO STDOUT", out)
        dumps.append((table, out.getvalue()))
    started = time.perf_counter()
    for table, data in dumps:
        cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING DEFAULTS)")
        cursor.cursor.copy_expert(f"COPY floor_{table} FROM STDIN", io.BytesIO(data))
    elapsed = time.perf_counter() - started
    for table, _data in dumps:
        cursor.execute(f"DROP TABLE floor_{table}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=200_000, help="taxpayers")
    parser.add_argument("--special-share", type=float, default=0.6)
    args = parser.parse_args()
    n = args.scale
    rng = random.Random(13)

    with bench_database("taxes"):
        from django.contrib.auth.models import Group
        from django.db import connection

        from cityhall.models import User
        from taxes import assessing, inputs, residenttax
        from taxes.models import Assessment, AssessmentRun

        supervisor = User.objects.create_user(email="bench@example.jp", password="x")
        supervisor.groups.add(Group.objects.get(name="supervisor"))
        datas = [_declaration_data(rng) for _ in range(n)]
        special = set(rng.sample(range(1, n + 1), int(n * args.special_share)))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO residents_address (postal_code, town, banchi, go, building, normalized,"
                " parcel_key) VALUES ('', '本町', '1', '', '', '本町1番地', '') RETURNING id"
            )
            (address_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO residents_household (number, address_id, address_since, formed_on)"
                " VALUES ('B0000001', %s, '2000-04-01', '2000-04-01') RETURNING id",
                [address_id],
            )
            (household_id,) = cursor.fetchone()
            cursor.execute(
                """
                INSERT INTO residents_resident (resident_code, family_name, given_name,
                    family_name_kana, given_name_kana, birth_date, sex, relationship, is_head,
                    became_resident_on, status, registered_domicile, domicile_head,
                    mynumber_digest, search_name, search_kana)
                SELECT lpad(g::text, 11, '0'), '負荷', '太郎' || g, 'フカ', 'タロウ',
                       DATE '1960-01-01' + (g %% 12000), 'male', '世帯主', false,
                       DATE '2000-04-01', 'current', '', '', '', '負荷 太郎' || g, 'フカ タロウ'
                  FROM generate_series(1, %s) g
                """,
                [n],
            )
            cursor.execute(
                "INSERT INTO residents_residenceperiod (resident_id, household_id, address_id,"
                " relationship, is_head, valid) SELECT id, %s, %s, '世帯主', false,"
                " daterange('2000-04-01', NULL) FROM residents_resident",
                [household_id, address_id],
            )
            cursor.execute("SELECT min(id) FROM residents_resident")
            (first_id,) = cursor.fetchone()
            now = "2025-03-10 10:00:00+09"
            _copy(
                cursor,
                "taxes_declaration",
                "resident_id, fiscal_year, status, data, submitted_at, created_at, updated_at",
                (
                    (
                        first_id + i,
                        2025,
                        "submitted",
                        json.dumps(d, ensure_ascii=False),
                        now,
                        now,
                        now,
                    )
                    for i, d in enumerate(datas)
                ),
            )
            if special:
                cursor.execute(
                    "INSERT INTO taxes_salaryreportimport (sha256, file_name, line_count,"
                    " imported_count, problems, created_at) VALUES ('bench', 'bench.csv', 0, 0,"
                    " '[]', now()) RETURNING id"
                )
                (import_id,) = cursor.fetchone()
                cursor.execute(
                    "INSERT INTO taxes_employer (number, name, address, created_at)"
                    " VALUES ('900001', '負荷株式会社', '', now()) RETURNING id"
                )
                (employer_id,) = cursor.fetchone()
                _copy(
                    cursor,
                    "taxes_salaryreport",
                    "income_year, employer_id, resident_id, payment, social_insurance,"
                    " life_insurance, earthquake_insurance, housing_loan_credit, dependants,"
                    " personal, collection, source_id, line_no",
                    (
                        (2024, employer_id, first_id + i - 1,
                         datas[i - 1]["income"]["salary_revenue"], 0, "{}", 0, 0, "[]", "{}",
                         "special", import_id, i)
                        for i in sorted(special)
                        if datas[i - 1]["income"]["salary_revenue"]
                    ),
                )  # fmt: skip
            cursor.execute("ANALYZE")

        # The module alone, on the same declarations.
        decls = [
            inputs.from_declaration(d, fiscal_year=2025, birth_date=date(1975, 6, 1)) for d in datas
        ]
        started = time.perf_counter()
        for d in decls:
            residenttax.assess(d)
        module_seconds = time.perf_counter() - started
        emit(
            "taxes.assess_module_per_second",
            n / module_seconds,
            "taxpayers/s",
            n,
            seconds=round(module_seconds, 2),
        )

        run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
        started = time.perf_counter()
        run = assessing.execute_run(run.pk, today=date(2025, 5, 20))
        seconds = time.perf_counter() - started
        assert run.state == AssessmentRun.State.SUCCEEDED, run.error
        assert Assessment.objects.count() == n, Assessment.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments_charge")
            charges, charged = cursor.fetchone()
            cursor.execute("SELECT COUNT(*) FROM payments_installment")
            (installments,) = cursor.fetchone()
            cursor.execute(
                "SELECT COALESCE(SUM(total), 0) FROM taxes_assessment WHERE collection = 'ordinary'"
            )
            (ordinary_levy,) = cursor.fetchone()
            cursor.execute("SELECT COUNT(*) FROM taxes_specialcollection")
            (special,) = cursor.fetchone()
            cursor.execute("SELECT COUNT(*) FROM taxes_assessment WHERE total = 0")
            (no_tax,) = cursor.fetchone()
        assert charged == ordinary_levy, (charged, ordinary_levy)
        emit(
            "taxes.assessment_run_seconds",
            seconds,
            "s",
            n,
            taxpayers_per_second=round(n / seconds),
            charges=charges,
            installments=installments,
            special_collection=special,
            no_tax=no_tax,
            target_seconds=60,
        )
        with connection.cursor() as cursor:
            floor = _floor(
                cursor,
                [
                    ("taxes_assessment", ""),
                    ("taxes_specialcollection", ""),
                    ("taxes_taxcharge", ""),
                    ("payments_charge", ""),
                    ("payments_installment", ""),
                ],
            )
        emit("taxes.raw_copy_seconds", floor, "s", n, rows_of="assessments, charges, installments")


if __name__ == "__main__":
    main()
