"""The words people read for the calculation's keys (both languages through gettext): every step,
deduction and status is mapped once here and used by pages, the API's labels and the PDF."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

STEPS = {
    "salary_revenue": _("給与収入"),
    "salary_income": _("給与所得"),
    "pension_revenue": _("公的年金等の収入"),
    "pension_income": _("公的年金等の所得"),
    "income_adjustment": _("所得金額調整控除"),
    "other_income": _("その他の所得"),
    "total_income": _("総所得金額"),
    "deductions": _("所得控除の合計"),
    "taxable": _("課税標準額（千円未満切捨て）"),
    "computed": _("算出税額"),
    "adjustment": _("調整控除"),
    "housing": _("住宅借入金等特別税額控除"),
    "flat_reduction": _("定額減税"),
    "income_levy": _("所得割額（百円未満切捨て）"),
    "per_capita": _("均等割額"),
    "forest_tax": _("森林環境税"),
    "total": _("年税額"),
}

DEDUCTIONS = {
    "social_insurance": _("社会保険料控除"),
    "life_insurance": _("生命保険料控除"),
    "earthquake_insurance": _("地震保険料控除"),
    "medical": _("医療費控除"),
    "disability_normal": _("障害者控除"),
    "disability_special": _("特別障害者控除"),
    "disability_special_cohabiting": _("同居特別障害者控除"),
    "widow": _("寡婦控除"),
    "single_parent": _("ひとり親控除"),
    "working_student": _("勤労学生控除"),
    "spouse": _("配偶者控除"),
    "spouse_elderly": _("配偶者控除（老人）"),
    "spouse_special": _("配偶者特別控除"),
    "dependant_general": _("扶養控除（一般）"),
    "dependant_specified": _("扶養控除（特定）"),
    "dependant_elderly": _("扶養控除（老人）"),
    "dependant_elderly_parent": _("扶養控除（同居老親等）"),
    "specific_relative": _("特定親族特別控除"),
    "basic": _("基礎控除"),
}

STATUS = {
    "taxed": _("課税"),
    "per_capita_only": _("均等割のみ課税"),
    "exempt": _("非課税"),
}

EXEMPT_REASONS = {
    "": "",
    "person": _("障害者・未成年者・寡婦・ひとり親で合計所得が135万円以下のため非課税"),
    "per_capita_limit": _("合計所得が均等割の非課税限度額以下のため非課税"),
    "income_levy_limit": _("総所得が所得割の非課税限度額以下のため所得割は非課税"),
}

TOPICS = {
    "income": _("収入"),
    "insurance": _("保険料"),
    "family": _("家族"),
    "medical": _("医療費"),
    "housing": _("住宅ローン"),
}

CLAIMS = {
    "": _("控除しない"),
    "spouse": _("配偶者として控除する"),
    "dependant": _("扶養親族として控除する"),
}

DISABILITIES = {"": _("なし"), "normal": _("障害者"), "special": _("特別障害者")}
SINGLE_PARENT = {"": _("該当しない"), "mother": _("ひとり親（母）"), "father": _("ひとり親（父）")}


def step_rows(rows: list[tuple[str, int | None, int | None]]) -> list[dict]:
    """residenttax.steps rows with their labels, ready for a template."""
    return [
        {"key": key, "label": STEPS[key], "city": city, "pref": pref, "split": pref is not None}
        for key, city, pref in rows
    ]


def deduction_rows(items) -> list[dict]:
    return [
        {"key": key, "label": DEDUCTIONS.get(key, key), "amount": amount} for key, amount in items
    ]
