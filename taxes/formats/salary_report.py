"""給与支払報告書 (salary report, 地方税法317条の6) as CSV: the layout Machiba imports. Pure.

Employers send one report per employee each January for the salaries of the year before (the
national eLTAX format carries the same items). Machiba's CSV is UTF-8 (a BOM is accepted), one
header line, one employee per line, these columns in this order:

=====  =======================  ==============================================================
 col   name                     content
=====  =======================  ==============================================================
  1    employer_number          特別徴収義務者指定番号 (digits, up to 20)
  2    employer_name            支払者の名称
  3    income_year              支払年 (e.g. 2025 for the 令和8年度 assessment)
  4    resident_code            住民票コード (11 digits), or empty: then the person is found
                                by 5 and 6
  5    name_kana                受給者の氏名（フリガナ）, family and given name
  6    birth_date               生年月日 YYYY-MM-DD
  7    payment                  支払金額 (yen)
  8    social_insurance         社会保険料等の金額
  9    life_new_general         新生命保険料の金額
 10    life_old_general         旧生命保険料の金額
 11    life_nursing_medical     介護医療保険料の金額
 12    life_new_annuity         新個人年金保険料の金額
 13    life_old_annuity         旧個人年金保険料の金額
 14    earthquake_insurance     地震保険料の金額
 15    housing_loan_credit      住宅借入金等特別控除可能額のうち所得税で控除しきれなかった額
 16    spouse                   配偶者: カナ氏名:YYYY-MM-DD:合計所得[:normal|special], or empty
 17    dependants               扶養親族 (16歳未満も): the same, separated by ';'
 18    disability               本人が障害者: empty, normal, special
 19    widow                    寡婦: 0 or 1
 20    single_parent            ひとり親: empty, mother, father
 21    working_student          勤労学生: 0 or 1
 22    collection               special (特別徴収) or ordinary (普通徴収, 普A〜普F)
 23    left_on                  退職日 YYYY-MM-DD, or empty
=====  =======================  ==============================================================

A malformed file raises :class:`ReportError` naming the line number, the column and the problem
(a key: the caller words it for people, in their language).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

COLUMNS = (
    "employer_number",
    "employer_name",
    "income_year",
    "resident_code",
    "name_kana",
    "birth_date",
    "payment",
    "social_insurance",
    "life_new_general",
    "life_old_general",
    "life_nursing_medical",
    "life_new_annuity",
    "life_old_annuity",
    "earthquake_insurance",
    "housing_loan_credit",
    "spouse",
    "dependants",
    "disability",
    "widow",
    "single_parent",
    "working_student",
    "collection",
    "left_on",
)
_MONEY = COLUMNS[6:15]
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class FamilyMember:
    kana: str
    birth_date: date
    income: int
    disability: str = ""

    def as_dict(self) -> dict:
        return {
            "kana": self.kana,
            "birth_date": self.birth_date.isoformat(),
            "income": self.income,
            "disability": self.disability,
        }


@dataclass(frozen=True)
class SalaryRecord:
    line_no: int
    employer_number: str
    employer_name: str
    income_year: int
    resident_code: str
    name_kana: str
    birth_date: date
    amounts: dict[str, int]
    spouse: FamilyMember | None
    dependants: list[FamilyMember] = field(default_factory=list)
    disability: str = ""
    widow: bool = False
    single_parent: str = ""
    working_student: bool = False
    collection: str = "special"
    left_on: date | None = None


class ReportError(ValueError):
    def __init__(self, key: str, line_no: int = 0, column: str = "", value: str = "") -> None:
        super().__init__(f"line {line_no}, {column}: {key} ({value!r})")
        self.key, self.line_no, self.column, self.value = key, line_no, column, value


def _fail(line_no: int, column: str, key: str, value: str = "") -> ReportError:
    return ReportError(key, line_no, column, value)


def _parse_date(text: str, line_no: int, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(line_no, column, "date", text) from None


def _parse_member(text: str, line_no: int, column: str) -> FamilyMember:
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0].strip():
        raise _fail(line_no, column, "member", text)
    income = parts[2].strip()
    if not income.isdigit():
        raise _fail(line_no, column, "member", text)
    disability = parts[3].strip() if len(parts) == 4 else ""
    if disability not in ("", "normal", "special"):
        raise _fail(line_no, column, "member", text)
    return FamilyMember(
        kana=parts[0].strip(),
        birth_date=_parse_date(parts[1].strip(), line_no, column),
        income=int(income),
        disability=disability,
    )


def parse(data: bytes) -> Iterator[SalaryRecord]:
    """Every record of the file, in order."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReportError("encoding") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
        raise ReportError("header", 1)
    for line_no, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            raise ReportError("columns", line_no, "", str(len(fields)))
        row = dict(zip(COLUMNS, (f.strip() for f in fields), strict=True))
        if not _DIGITS.fullmatch(row["employer_number"]):
            raise _fail(line_no, "employer_number", "digits")
        if not row["income_year"].isdigit() or not 2000 <= int(row["income_year"]) <= 2100:
            raise _fail(line_no, "income_year", "year")
        if row["resident_code"] and not re.fullmatch(r"[0-9]{11}", row["resident_code"]):
            raise _fail(line_no, "resident_code", "resident_code")
        if not row["resident_code"] and not row["name_kana"]:
            raise _fail(line_no, "name_kana", "who")
        amounts = {}
        for column in _MONEY:
            value = row[column] or "0"
            if not value.isdigit():
                raise _fail(line_no, column, "money", value)
            amounts[column] = int(value)
        for column in ("widow", "working_student"):
            if row[column] not in ("", "0", "1"):
                raise _fail(line_no, column, "flag")
        if row["disability"] not in ("", "normal", "special"):
            raise _fail(line_no, "disability", "disability")
        if row["single_parent"] not in ("", "mother", "father"):
            raise _fail(line_no, "single_parent", "single_parent")
        if row["collection"] not in ("special", "ordinary"):
            raise _fail(line_no, "collection", "collection")
        yield SalaryRecord(
            line_no=line_no,
            employer_number=row["employer_number"],
            employer_name=row["employer_name"],
            income_year=int(row["income_year"]),
            resident_code=row["resident_code"],
            name_kana=row["name_kana"],
            birth_date=_parse_date(row["birth_date"], line_no, "birth_date"),
            amounts=amounts,
            spouse=_parse_member(row["spouse"], line_no, "spouse") if row["spouse"] else None,
            dependants=[
                _parse_member(part, line_no, "dependants")
                for part in row["dependants"].split(";")
                if part.strip()
            ],
            disability=row["disability"],
            widow=row["widow"] == "1",
            single_parent=row["single_parent"],
            working_student=row["working_student"] == "1",
            collection=row["collection"],
            left_on=_parse_date(row["left_on"], line_no, "left_on") if row["left_on"] else None,
        )


def render(records: list[dict]) -> bytes:
    """A file in this layout from dicts keyed by COLUMNS (the demo city and tests write with it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([record.get(column, "") for column in COLUMNS])
    return out.getvalue().encode("utf-8")
