"""Builders for the taxes tests: residents through residents' services, salary reports through
the documented CSV layout, declarations through taxes' services."""

from __future__ import annotations

from datetime import date

from factories_residents import move_in

from taxes.formats import salary_report


def report_row(
    resident, *, payment: int, employer: str = "100001", collection: str = "special", **extra
) -> dict:
    row = {
        "employer_number": employer,
        "employer_name": f"株式会社テスト{employer}",
        "income_year": 2024,
        "resident_code": resident.resident_code,
        "name_kana": f"{resident.family_name_kana} {resident.given_name_kana}",
        "birth_date": resident.birth_date.isoformat(),
        "payment": payment,
        "social_insurance": 0,
        "collection": collection,
        "widow": 0,
        "working_student": 0,
    }
    row.update(extra)
    return row


def reports_csv(rows: list[dict]) -> bytes:
    return salary_report.render(rows)


def taxpayer(**kw):
    """A resident who lived here on 1 January 2025 (liable for 令和7年度)."""
    kw.setdefault("effective_on", date(2020, 4, 1))
    return move_in(**kw)
