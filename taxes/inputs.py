"""From what a resident declared (by topic) or what employers reported, to the calculation's
:class:`~taxes.residenttax.Declaration`. Pure: plain dicts in, dataclasses out.

A declaration's ``data`` holds one dict per topic page::

    {"income": {"salary_revenue", "pension_revenue", "other_income"},
     "insurance": {"social_insurance", "life_new_general", "life_old_general",
                   "life_nursing_medical", "life_new_annuity", "life_old_annuity",
                   "earthquake_insurance"},
     "family": {"members": [{"key", "resident_id", "name", "relationship", "birth_date",
                             "claim": "" | "spouse" | "dependant", "income", "lives_with",
                             "parent", "disability"}],
                "widow", "single_parent", "disability", "working_student"},
     "medical": {"medical_expenses"},
     "housing": {"housing_loan_credit"}}

Ages are counted at 31 December of the income year (the year before the fiscal year), as the
statute counts them for deductions (所得税法85条3項) and FORMATS.md §8 asks.
"""

from __future__ import annotations

from datetime import date

from .residenttax import Declaration, LifeInsurance, Person

TOPICS = ("income", "insurance", "family", "medical", "housing")
LIFE_FIELDS = {
    "life_new_general": "new_general",
    "life_old_general": "old_general",
    "life_nursing_medical": "nursing_medical",
    "life_new_annuity": "new_annuity",
    "life_old_annuity": "old_annuity",
}
# Relationships (続柄, as the register writes them relative to the head) that are 直系尊属.
ASCENDANTS = {"父", "母", "祖父", "祖母", "妻の父", "妻の母", "夫の父", "夫の母"}
SPOUSES = {"妻", "夫"}


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day`` (民法143条 and 年齢計算ニ関スル法律: a year is completed the day
    before the birthday, which matters only for 1 January birthdays and 31 December)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_at_year_end(birth_date: date, fiscal_year: int) -> int:
    # The day after 31 Dec: someone born on 1 January completes the year on 31 December.
    return age_on(birth_date, date(fiscal_year, 1, 1))


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _person(member: dict, fiscal_year: int) -> Person | None:
    born = _date(member.get("birth_date"))
    if born is None:
        return None
    disability = member.get("disability") or None
    return Person(
        age=age_at_year_end(born, fiscal_year),
        income=_int(member.get("income")),
        lives_with=bool(member.get("lives_with", True)),
        parent=bool(member.get("parent")),
        disability=disability if disability in ("normal", "special") else None,
    )


def from_declaration(data: dict, *, fiscal_year: int, birth_date: date) -> Declaration:
    """The calculation's input from a declaration's topics (missing topics count as nothing)."""
    income = data.get("income") or {}
    insurance = data.get("insurance") or {}
    family = data.get("family") or {}
    spouse = None
    dependants = []
    for member in family.get("members") or []:
        person = _person(member, fiscal_year)
        if person is None:
            continue
        if member.get("claim") == "spouse" and spouse is None:
            spouse = person
        elif member.get("claim") == "dependant":
            dependants.append(person)
    single_parent = family.get("single_parent") or None
    disability = family.get("disability") or None
    return Declaration(
        fiscal_year=fiscal_year,
        age=age_at_year_end(birth_date, fiscal_year),
        salary_revenue=_int(income.get("salary_revenue")),
        pension_revenue=_int(income.get("pension_revenue")),
        other_income=_int(income.get("other_income")),
        social_insurance=_int(insurance.get("social_insurance")),
        life_insurance=LifeInsurance(
            **{target: _int(insurance.get(source)) for source, target in LIFE_FIELDS.items()}
        ),
        earthquake_insurance=_int(insurance.get("earthquake_insurance")),
        medical_expenses=_int((data.get("medical") or {}).get("medical_expenses")),
        spouse=spouse,
        dependants=dependants,
        widow=bool(family.get("widow")),
        single_parent=single_parent if single_parent in ("mother", "father") else None,
        disability=disability if disability in ("normal", "special") else None,
        working_student=bool(family.get("working_student")),
        housing_loan_credit=_int((data.get("housing") or {}).get("housing_loan_credit")),
    )


def from_reports(reports: list[dict], *, fiscal_year: int, birth_date: date) -> Declaration:
    """The calculation's input from employers' salary reports alone (no declaration filed).

    Salaries and social insurance add up over every employer; the deductions the year-end
    adjustment (年末調整) used — insurance premiums, family, the housing-loan remainder — come from
    the report of the largest payment, the employer that made the adjustment.
    """
    main = max(reports, key=lambda r: (r["payment"], -r.get("line_no", 0)))
    personal = main.get("personal") or {}
    spouse = _person(main["spouse"], fiscal_year) if main.get("spouse") else None
    dependants = [p for p in (_person(m, fiscal_year) for m in main.get("dependants") or []) if p]
    life = main.get("life_insurance") or {}
    return Declaration(
        fiscal_year=fiscal_year,
        age=age_at_year_end(birth_date, fiscal_year),
        salary_revenue=sum(r["payment"] for r in reports),
        social_insurance=sum(r.get("social_insurance", 0) for r in reports),
        life_insurance=LifeInsurance(**{k: _int(life.get(k)) for k in LIFE_FIELDS.values()}),
        earthquake_insurance=_int(main.get("earthquake_insurance")),
        spouse=spouse,
        dependants=dependants,
        widow=bool(personal.get("widow")),
        single_parent=personal.get("single_parent") or None,
        disability=personal.get("disability") or None,
        working_student=bool(personal.get("working_student")),
        housing_loan_credit=_int(main.get("housing_loan_credit")),
    )


def prefill_from_reports(data: dict, reports: list[dict]) -> dict:
    """A new declaration's income and insurance pages start from the salary reports."""
    if not reports:
        return data
    out = {topic: dict(data.get(topic) or {}) for topic in TOPICS}
    out["income"].setdefault("salary_revenue", sum(r["payment"] for r in reports))
    out["insurance"].setdefault(
        "social_insurance", sum(r.get("social_insurance", 0) for r in reports)
    )
    main = max(reports, key=lambda r: r["payment"])
    life = main.get("life_insurance") or {}
    for source, target in LIFE_FIELDS.items():
        if life.get(target):
            out["insurance"].setdefault(source, life[target])
    if main.get("earthquake_insurance"):
        out["insurance"].setdefault("earthquake_insurance", main["earthquake_insurance"])
    if main.get("housing_loan_credit"):
        out["housing"].setdefault("housing_loan_credit", main["housing_loan_credit"])
    return out


def family_from_register(
    members: list[dict], *, declarer_is_head: bool, fiscal_year: int
) -> list[dict]:
    """Household members (other than the declarer) as the family page's first rows: who they are,
    their age on 31 Dec, and a first guess at who is a spouse or dependant (the head's spouse and
    the household's children and parents; the resident confirms or changes it)."""
    rows = []
    for member in members:
        relationship = member["relationship"]
        born = member["birth_date"]
        age = age_at_year_end(born, fiscal_year)
        claim = ""
        if declarer_is_head:
            if relationship in SPOUSES:
                claim = "spouse"
            elif relationship.startswith(("子", "長", "二", "次", "三", "四", "五")) or (
                relationship in ASCENDANTS
            ):
                claim = "dependant"
        rows.append(
            {
                "key": f"r{member['resident_id']}",
                "resident_id": member["resident_id"],
                "name": member["name"],
                "relationship": relationship,
                "birth_date": born.isoformat(),
                "age": age,
                "claim": claim,
                "income": 0,
                "lives_with": True,
                "parent": declarer_is_head and relationship in ASCENDANTS,
                "disability": "",
            }
        )
    return rows
