"""Individual resident tax (個人住民税: 市町村民税 and 道府県民税 所得割・均等割, with 森林環境税).

Pure and exact: integers of yen, no floats, no database. The interface is the one fixed in
FORMATS.md §8: :func:`assess` takes a :class:`Declaration` (what the taxpayer earned and may deduct
in the income year, ages at 31 December of that year) and returns an :class:`Assessment` with
every intermediate figure, so notices, the simulation page and the batch run print the same steps.

The calculation, in the order of the statute (市町村民税 article first, 道府県民税 second):

1. 所得 (地方税法313条・32条: 総所得金額 is computed as 所得税法 does):
   給与所得 by 所得税法28条 and 別表第五 (:func:`salary_income`), 公的年金等に係る雑所得 by
   所得税法35条4項 (:func:`pension_income`), 所得金額調整控除 by 租税特別措置法41条の3の3, plus
   other income already net. 合計所得金額 = 総所得金額 here (no separately taxed income).
2. 所得控除 in resident-tax amounts (地方税法314条の2・34条), 基礎控除 by 314条の2第2項.
3. 課税標準 = 総所得 − 控除, truncated to 1,000 yen (地方税法20条の4の2第1項).
4. 算出税額 = 課税標準 × rate (市 6 % / 県 4 %; 指定都市 8 % / 2 %: 地方税法314条の3・35条).
5. 調整控除 (地方税法314条の6・37条), 住宅借入金等特別税額控除 (地方税法附則5条の4の2・45条),
   and in 令和6・7年度 the 定額減税 (特別税額控除, 地方税法附則5条の8・5条の9).
6. 所得割 = what is left, truncated to 100 yen per tax (地方税法20条の4の2第3項).
7. 均等割 (地方税法310条・38条; +500 yen each for 平成26–令和5年度 by the 復興財源確保法 2条) and
   森林環境税 (森林環境税及び森林環境譲与税に関する法律, 令和6年度から 1,000 yen).
8. 非課税 (地方税法295条・24条の5, 施行令47条の3, 附則3条の3): nothing for 障害者・未成年者・
   寡婦・ひとり親 with 合計所得 ≤ 1,350,000; no 均等割 under the 均等割 limit of the city's grade;
   no 所得割 under the 所得割 limit.

Rules change by fiscal year (年度); each year's figures are a :class:`Rules` row in :data:`RULES`,
2021 (令和3年度) to 2026 (令和8年度). A year without rules raises :class:`NoRulesForYear`: a tax
figure for a year nobody has checked must not come out.

Worked example (FORMATS.md §8, a city's published example, 令和7年度): salary 4,370,000 →
給与所得 3,054,400; 国民健康保険料 420,000; old-type life insurance 100,000 → 35,000; spouse 40
with no income 330,000; children 19 (特定 450,000) and 16 (一般 330,000); 基礎 430,000 →
deductions 1,995,000; 課税標準 1,059,000; computed 63,540 / 42,360; D = 330,000 → 調整控除
9,900 / 6,600; 所得割 53,600 / 35,700; 均等割 3,000 + 1,000 + 森林環境税 1,000; total 94,300.

Kept in one file: a pure calculation in the order of the statute, like the formats; split, the
steps of one assessment would be read across files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- rules per fiscal year -------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The figures of one fiscal year (年度; 2025 = 令和7年度, taxing 2024 income)."""

    fiscal_year: int
    version: str
    # 給与所得控除の最低保障額 (所得税法28条3項1号): 550,000, and 650,000 from 令和8年度
    # (令和7年分の所得: 所得税法等の一部を改正する法律 令和7年法律第13号).
    salary_minimum_deduction: int
    # 同一生計配偶者・扶養親族の合計所得要件 (所得税法2条1項33号・34号; 地方税法292条1項7号・9号):
    # 480,000, and 580,000 from 令和8年度; also the ひとり親's child limit (所得税法2条1項31号).
    dependant_income_limit: int
    # 勤労学生の合計所得要件 (所得税法2条1項32号): 750,000, 850,000 from 令和8年度.
    working_student_limit: int
    # 特定親族特別控除 (令和8年度から, 地方税法314条の2: 19–22 with 合計所得 over the dependant
    # limit and up to 1,230,000).
    specific_relative_deduction: bool
    # 均等割 (地方税法310条・38条) plus the 復興 surcharge of 500 each for 平成26–令和5年度.
    per_capita_city: int
    per_capita_pref: int
    # 森林環境税 (国税, levied with the 均等割 from 令和6年度).
    forest_tax: int
    # 未成年者 for 地方税法295条1項2号: under 20, under 18 from 令和5年度 (民法4条, 成年年齢の引下げ
    # effective 2022-04-01; the 賦課期日 is 1 January of the fiscal year).
    adult_age: int
    # 定額減税 (特別税額控除): 令和6年度 10,000 yen per person (本人, 控除対象配偶者, 扶養親族), 6,000
    # 市 / 4,000 県 (指定都市 8,000 / 2,000), for 合計所得 ≤ 18,050,000 (地方税法附則5条の8);
    # 令和7年度 the same for a 同一生計配偶者 who was not a 控除対象配偶者 in 令和6年度 (the
    # taxpayer's 合計所得 over 10,000,000; 地方税法附則5条の9).
    flat_reduction: str | None = None


RULES: dict[int, Rules] = {
    year: Rules(
        fiscal_year=year,
        version=f"{year}.1",
        salary_minimum_deduction=650_000 if year >= 2026 else 550_000,
        dependant_income_limit=580_000 if year >= 2026 else 480_000,
        working_student_limit=850_000 if year >= 2026 else 750_000,
        specific_relative_deduction=year >= 2026,
        per_capita_city=3_000 if year >= 2024 else 3_500,
        per_capita_pref=1_000 if year >= 2024 else 1_500,
        forest_tax=1_000 if year >= 2024 else 0,
        adult_age=18 if year >= 2023 else 20,
        flat_reduction={2024: "everyone", 2025: "spouse_over_10m"}.get(year),
    )
    for year in range(2021, 2027)
}


class NoRulesForYear(ValueError):
    """The module has no figures for this fiscal year; someone must add and check them first."""

    def __init__(self, fiscal_year: int) -> None:
        known = f"{min(RULES)}–{max(RULES)}"
        super().__init__(
            f"{fiscal_year}年度の個人住民税の計算規則は登録されていません（登録済み: {known}年度） / "
            f"No resident tax rules for fiscal year {fiscal_year} (rules exist for {known})"
        )
        self.fiscal_year = fiscal_year


def rules_for(fiscal_year: int) -> Rules:
    try:
        return RULES[fiscal_year]
    except KeyError:
        raise NoRulesForYear(fiscal_year) from None


def known_fiscal_years() -> list[int]:
    return sorted(RULES)


# --- the interface ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LifeInsurance:
    """Premiums paid in the income year, per category (生命保険料控除, 地方税法314条の2第1項第5号)."""

    new_general: int = 0  # 一般生命保険料（新契約）
    old_general: int = 0  # 一般生命保険料（旧契約）
    nursing_medical: int = 0  # 介護医療保険料
    new_annuity: int = 0  # 個人年金保険料（新契約）
    old_annuity: int = 0  # 個人年金保険料（旧契約）


@dataclass(frozen=True)
class Person:
    """A spouse or dependant: age at 31 Dec of the income year, 合計所得金額."""

    age: int
    income: int = 0
    lives_with: bool = True  # 同居 (同居老親等, 同居特別障害者)
    parent: bool = False  # 直系尊属 of the taxpayer or the spouse (同居老親等)
    disability: str | None = None  # "normal" | "special"


@dataclass(frozen=True)
class Declaration:
    fiscal_year: int
    age: int
    salary_revenue: int = 0
    pension_revenue: int = 0
    other_income: int = 0
    social_insurance: int = 0
    life_insurance: LifeInsurance = field(default_factory=LifeInsurance)
    earthquake_insurance: int = 0
    medical_expenses: int = 0
    spouse: Person | None = None
    dependants: list[Person] = field(default_factory=list)
    widow: bool = False
    single_parent: str | None = None  # "mother" | "father"
    disability: str | None = None  # "normal" | "special"
    working_student: bool = False
    housing_loan_credit: int = 0
    housing_loan_cap_rate: int = 5
    housing_loan_cap: int = 97_500


@dataclass(slots=True)
class Assessment:
    salary_income: int
    total_income: int
    deductions: int
    taxable: int
    computed_city: int
    computed_pref: int
    adjustment_city: int
    adjustment_pref: int
    housing_city: int
    housing_pref: int
    income_levy_city: int
    income_levy_pref: int
    per_capita_city: int
    per_capita_pref: int
    forest_tax: int
    total: int
    exempt_income_levy: bool
    exempt_per_capita: bool
    # Beyond the fixed interface: what a notice prints as steps.
    fiscal_year: int = 0
    rule_version: str = ""
    pension_income: int = 0
    income_adjustment: int = 0  # 所得金額調整控除
    deduction_items: tuple[tuple[str, int], ...] = ()
    personal_difference: int = 0  # 調整控除の人的控除差 D
    flat_reduction_city: int = 0  # 定額減税
    flat_reduction_pref: int = 0
    exempt_reason: str = ""  # "" | "person" | "per_capita_limit" | "income_levy_limit"

    @property
    def income_levy(self) -> int:
        return self.income_levy_city + self.income_levy_pref

    @property
    def per_capita(self) -> int:
        return self.per_capita_city + self.per_capita_pref

    def as_dict(self) -> dict:
        data = {name: getattr(self, name) for name in _ASSESSMENT_FIELDS}
        data["deduction_items"] = [list(item) for item in self.deduction_items]
        return data


_ASSESSMENT_FIELDS = tuple(Assessment.__dataclass_fields__)


# --- income ----------------------------------------------------------------------------------


def _truncate(amount: int, unit: int) -> int:
    return amount // unit * unit if amount > 0 else 0


def salary_income(revenue: int, fiscal_year: int) -> int:
    """給与所得控除後の給与等の金額 (所得税法28条).

    Below 6,600,000 yen the statute's table (別表第五) gives the amount: outside the minimum
    band it is computed on A = revenue ÷ 4 truncated to 1,000 yen, then 2.4A + 100,000 /
    2.8A − 80,000 / 3.2A − 440,000 by band (the table's rows reproduce these formulas). From
    6,600,000 on the formula of 28条3項 applies: 90 % − 1,100,000 up to 8,500,000, then revenue −
    1,950,000. From 令和8年度 the minimum deduction is 650,000 up to 1,900,000 yen of revenue
    (令和7年法律第13号, 別表第五 as amended), where it meets the 2.8A − 80,000 band.
    """
    rules = rules_for(fiscal_year)
    if revenue <= 0:
        return 0
    if revenue < 6_600_000:
        a = revenue // 4 // 1_000 * 1_000
        if rules.salary_minimum_deduction == 650_000:
            if revenue < 1_900_000:
                return max(0, revenue - 650_000)
            if revenue < 3_600_000:
                return a * 28 // 10 - 80_000
            return a * 32 // 10 - 440_000
        # 別表第五 (令和2年分以後): the 550,000 minimum up to 1,619,000, four fixed rows up to
        # 1,628,000, then the A bands.
        if revenue < 1_619_000:
            return max(0, revenue - 550_000)
        if revenue < 1_620_000:
            return 1_069_000
        if revenue < 1_622_000:
            return 1_070_000
        if revenue < 1_624_000:
            return 1_072_000
        if revenue < 1_628_000:
            return 1_074_000
        if revenue < 1_800_000:
            return a * 24 // 10 + 100_000
        if revenue < 3_600_000:
            return a * 28 // 10 - 80_000
        return a * 32 // 10 - 440_000
    if revenue <= 8_500_000:
        return revenue * 9 // 10 - 1_100_000
    return revenue - 1_950_000


def pension_income(revenue: int, *, age: int, other_income: int) -> int:
    """公的年金等に係る雑所得 (所得税法35条4項, 令和2年分以後の公的年金等控除).

    The deduction depends on age (65 or over at 31 Dec) and on the 合計所得 other than pensions
    (up to 10,000,000; up to 20,000,000: 100,000 less; above: 200,000 less). Deductions with a
    fraction are rounded up (the 所得 is truncated to the yen).
    """
    if revenue <= 0:
        return 0
    if other_income <= 10_000_000:
        cut = 0
    elif other_income <= 20_000_000:
        cut = 100_000
    else:
        cut = 200_000
    minimum = 1_100_000 if age >= 65 else 600_000
    bend = 3_300_000 if age >= 65 else 1_300_000
    if revenue <= bend:
        deduction = minimum
    elif revenue <= 4_100_000:
        deduction = -(-revenue * 25 // 100) + 275_000
    elif revenue <= 7_700_000:
        deduction = -(-revenue * 15 // 100) + 685_000
    else:
        deduction = -(-revenue * 5 // 100) + 1_455_000
    return max(0, revenue - (deduction - cut))


# --- deductions ------------------------------------------------------------------------------


def life_insurance_deduction(premiums: LifeInsurance) -> int:
    """生命保険料控除 in resident-tax amounts (地方税法314条の2第1項第5号, 第7項).

    Per category: new-type ≤12,000 all, ≤32,000 ½ + 6,000, ≤56,000 ¼ + 14,000, else 28,000;
    old-type ≤15,000 all, ≤40,000 ½ + 7,500, ≤70,000 ¼ + 17,500, else 35,000. A category with both
    old and new contracts takes the larger of the old alone and old + new capped at 28,000. The
    three categories together at most 70,000. Fractions of a yen are rounded up.
    """

    def new(p: int) -> int:
        if p <= 12_000:
            return max(0, p)
        if p <= 32_000:
            return -(-p // 2) + 6_000
        if p <= 56_000:
            return -(-p // 4) + 14_000
        return 28_000

    def old(p: int) -> int:
        if p <= 15_000:
            return max(0, p)
        if p <= 40_000:
            return -(-p // 2) + 7_500
        if p <= 70_000:
            return -(-p // 4) + 17_500
        return 35_000

    def category(new_premium: int, old_premium: int) -> int:
        if new_premium and old_premium:
            return max(old(old_premium), min(28_000, new(new_premium) + old(old_premium)))
        if old_premium:
            return old(old_premium)
        return new(new_premium)

    total = (
        category(premiums.new_general, premiums.old_general)
        + new(premiums.nursing_medical)
        + category(premiums.new_annuity, premiums.old_annuity)
    )
    return min(total, 70_000)


def earthquake_deduction(premium: int) -> int:
    """地震保険料控除 (地方税法314条の2第1項): half the premium, at most 25,000 (rounded up)."""
    return min(25_000, -(-max(0, premium) // 2))


def medical_deduction(expenses: int, total_income: int) -> int:
    """医療費控除 (地方税法314条の2第1項第2号): expenses over the lesser of 100,000 yen and 5 % of
    総所得金額等, at most 2,000,000."""
    threshold = min(100_000, max(0, total_income) * 5 // 100)
    return min(2_000_000, max(0, expenses - threshold))


def basic_deduction(total_income: int) -> int:
    """基礎控除 (地方税法314条の2第2項): 430,000 up to 24M of 合計所得, 290,000 / 150,000 up to
    24.5M / 25M, none above."""
    if total_income <= 24_000_000:
        return 430_000
    if total_income <= 24_500_000:
        return 290_000
    if total_income <= 25_000_000:
        return 150_000
    return 0


# 配偶者特別控除 (地方税法314条の2第1項第10号の2): spouse's 合計所得 up to → amount for the
# taxpayer's 合計所得 ≤ 9M / ≤ 9.5M / ≤ 10M. The lower bound is the dependant limit of the year.
_SPOUSE_SPECIAL = (
    (1_000_000, (330_000, 220_000, 110_000)),
    (1_050_000, (310_000, 210_000, 110_000)),
    (1_100_000, (260_000, 180_000, 90_000)),
    (1_150_000, (210_000, 140_000, 70_000)),
    (1_200_000, (160_000, 110_000, 60_000)),
    (1_250_000, (110_000, 80_000, 40_000)),
    (1_300_000, (60_000, 40_000, 20_000)),
    (1_330_000, (30_000, 20_000, 10_000)),
)
# 特定親族特別控除 (令和8年度から, 地方税法314条の2): the relative's 合計所得 up to → amount.
_SPECIFIC_RELATIVE = (
    (950_000, 450_000),
    (1_000_000, 410_000),
    (1_050_000, 310_000),
    (1_100_000, 210_000),
    (1_150_000, 110_000),
    (1_200_000, 60_000),
    (1_230_000, 30_000),
)


def _taxpayer_column(total_income: int) -> int | None:
    """Which column of the spouse tables applies (the taxpayer's 合計所得 ≤ 9M / 9.5M / 10M)."""
    if total_income <= 9_000_000:
        return 0
    if total_income <= 9_500_000:
        return 1
    if total_income <= 10_000_000:
        return 2
    return None


# 調整控除の人的控除差 (地方税法314条の6第1号イ, 37条第1号イ): fixed amounts by deduction.
_DIFF_SPOUSE = (50_000, 40_000, 20_000)  # 配偶者控除 by taxpayer column
_DIFF_SPOUSE_OLD = (100_000, 60_000, 30_000)  # 老人控除対象配偶者
_DIFF_SPOUSE_SPECIAL_UNDER_500K = (50_000, 40_000, 20_000)  # spouse 合計所得 48万超50万未満
_DIFF_SPOUSE_SPECIAL_UNDER_550K = (30_000, 20_000, 10_000)  # 50万以上55万未満
_DIFF = {
    "basic": 50_000,
    "dependant_general": 50_000,
    "dependant_specified": 180_000,
    "dependant_elderly": 100_000,
    "dependant_elderly_parent": 130_000,
    "disability_normal": 10_000,
    "disability_special": 100_000,
    "disability_special_cohabiting": 220_000,
    "widow": 10_000,
    "single_parent_mother": 50_000,
    "single_parent_father": 10_000,
    "working_student": 10_000,
}

# Resident-tax amounts of the personal deductions (地方税法314条の2第1項第6号〜第11号).
DEPENDANT_GENERAL = 330_000  # 一般扶養 (16–18, 23–69)
DEPENDANT_SPECIFIED = 450_000  # 特定扶養 (19–22)
DEPENDANT_ELDERLY = 380_000  # 老人扶養 (70+)
DEPENDANT_ELDERLY_PARENT = 450_000  # 同居老親等
DISABILITY = {"normal": 260_000, "special": 300_000, "special_cohabiting": 530_000}
WIDOW = 260_000
SINGLE_PARENT = 300_000
WORKING_STUDENT = 260_000
# 配偶者控除 by the taxpayer's column (合計所得 ≤ 9M / 9.5M / 10M); 老人 = spouse 70 or over.
SPOUSE = (330_000, 220_000, 110_000)
SPOUSE_ELDERLY = (380_000, 260_000, 130_000)
# 寡婦・ひとり親 require 合計所得 ≤ 5,000,000 (所得税法2条1項30号・31号).
WIDOW_INCOME_LIMIT = 5_000_000
# 地方税法295条1項2号: no tax at all for these people with 合計所得 ≤ 1,350,000.
PERSONAL_EXEMPTION_LIMIT = 1_350_000
# 定額減税: 合計所得の要件 (地方税法附則5条の8).
FLAT_REDUCTION_INCOME_LIMIT = 18_050_000

# 均等割の非課税限度額 (地方税法295条3項, 施行令47条の3): by the city's grade (級地), per person
# counted (本人 + 同一生計配偶者 + 扶養親族), a base, and an addition when anyone is counted.
PER_CAPITA_LIMITS = {
    1: (350_000, 100_000, 210_000),
    2: (315_000, 90_000, 189_000),
    3: (280_000, 80_000, 168_000),
}
# 所得割の非課税限度額 (地方税法附則3条の3): 350,000 × (1 + N) + 100,000 (+ 320,000 when N > 0).
INCOME_LEVY_LIMIT = (350_000, 100_000, 320_000)


@dataclass
class _Deductions:
    items: list[tuple[str, int]] = field(default_factory=list)
    difference: int = 0

    def add(self, key: str, amount: int, difference: int = 0) -> None:
        if amount > 0:
            self.items.append((key, amount))
            self.difference += difference

    @property
    def total(self) -> int:
        return sum(amount for _key, amount in self.items)


def _personal_deductions(d: Declaration, rules: Rules, total_income: int) -> _Deductions:
    out = _Deductions()
    limit = rules.dependant_income_limit
    column = _taxpayer_column(total_income)

    # 障害者控除 for the taxpayer (地方税法314条の2第1項第6号).
    if d.disability in ("normal", "special"):
        out.add(
            f"disability_{d.disability}",
            DISABILITY[d.disability],
            _DIFF[f"disability_{d.disability}"],
        )
    # ひとり親控除 takes precedence over 寡婦控除 (所得税法2条1項30号イ).
    if d.single_parent in ("mother", "father") and total_income <= WIDOW_INCOME_LIMIT:
        out.add("single_parent", SINGLE_PARENT, _DIFF[f"single_parent_{d.single_parent}"])
    elif d.widow and total_income <= WIDOW_INCOME_LIMIT:
        out.add("widow", WIDOW, _DIFF["widow"])
    if d.working_student and total_income <= rules.working_student_limit:
        out.add("working_student", WORKING_STUDENT, _DIFF["working_student"])

    spouse = d.spouse
    if spouse is not None:
        if spouse.income <= limit:
            # 配偶者控除 (第10号): only when the taxpayer's 合計所得 ≤ 10M; tapering by column.
            if column is not None:
                elderly = spouse.age >= 70
                amount = (SPOUSE_ELDERLY if elderly else SPOUSE)[column]
                diff = (_DIFF_SPOUSE_OLD if elderly else _DIFF_SPOUSE)[column]
                out.add("spouse_elderly" if elderly else "spouse", amount, diff)
            # 障害者控除 also for a 同一生計配偶者 whatever the taxpayer's income.
            _add_disability(out, spouse)
        elif spouse.income <= 1_330_000 and column is not None:
            amount = next(
                amounts[column] for bound, amounts in _SPOUSE_SPECIAL if spouse.income <= bound
            )
            if spouse.income < 500_000:
                diff = _DIFF_SPOUSE_SPECIAL_UNDER_500K[column]
            elif spouse.income < 550_000:
                diff = _DIFF_SPOUSE_SPECIAL_UNDER_550K[column]
            else:
                diff = 0
            out.add("spouse_special", amount, diff)

    for person in d.dependants:
        if person.income <= limit:
            if person.age >= 70:
                if person.parent and person.lives_with:
                    out.add(
                        "dependant_elderly_parent",
                        DEPENDANT_ELDERLY_PARENT,
                        _DIFF["dependant_elderly_parent"],
                    )
                else:
                    out.add("dependant_elderly", DEPENDANT_ELDERLY, _DIFF["dependant_elderly"])
            elif 19 <= person.age <= 22:
                out.add("dependant_specified", DEPENDANT_SPECIFIED, _DIFF["dependant_specified"])
            elif person.age >= 16:
                out.add("dependant_general", DEPENDANT_GENERAL, _DIFF["dependant_general"])
            # Under 16 no 扶養控除 (年少扶養控除 abolished from 平成24年度), but 障害者控除 applies.
            _add_disability(out, person)
        elif (
            rules.specific_relative_deduction
            and 19 <= person.age <= 22
            and person.income <= _SPECIFIC_RELATIVE[-1][0]
        ):
            amount = next(a for bound, a in _SPECIFIC_RELATIVE if person.income <= bound)
            out.add("specific_relative", amount)
    return out


def _add_disability(out: _Deductions, person: Person) -> None:
    if person.disability == "normal":
        out.add("disability_normal", DISABILITY["normal"], _DIFF["disability_normal"])
    elif person.disability == "special":
        key = "special_cohabiting" if person.lives_with else "special"
        out.add(f"disability_{key}", DISABILITY[key], _DIFF[f"disability_{key}"])


def counted_people(d: Declaration, rules: Rules) -> int:
    """N of the 非課税 limits: 同一生計配偶者 and 扶養親族 (under 16 included)."""
    limit = rules.dependant_income_limit
    spouse = 1 if d.spouse is not None and d.spouse.income <= limit else 0
    return spouse + sum(1 for p in d.dependants if p.income <= limit)


def _flat_reduction_people(d: Declaration, rules: Rules, total_income: int) -> int:
    """How many people the 定額減税 counts (0 when it does not apply this year)."""
    if rules.flat_reduction is None or total_income > FLAT_REDUCTION_INCOME_LIMIT:
        return 0
    limit = rules.dependant_income_limit
    spouse_counted = d.spouse is not None and d.spouse.income <= limit
    if rules.flat_reduction == "everyone":
        # 本人, 控除対象配偶者 (the taxpayer's 合計所得 ≤ 10M) and 扶養親族 of any age.
        spouse = 1 if spouse_counted and total_income <= 10_000_000 else 0
        return 1 + spouse + sum(1 for p in d.dependants if p.income <= limit)
    # 令和7年度: only a 同一生計配偶者 who was no 控除対象配偶者 (taxpayer over 10M).
    return 1 if spouse_counted and total_income > 10_000_000 else 0


# --- the assessment --------------------------------------------------------------------------


def assess(
    d: Declaration,
    *,
    grade: int = 1,
    designated_city: bool = False,
    per_capita_city: int | None = None,
    per_capita_pref: int | None = None,
) -> Assessment:
    """The resident tax for one declaration (see the module docstring for every step)."""
    rules = rules_for(d.fiscal_year)
    if grade not in PER_CAPITA_LIMITS:
        raise ValueError(f"grade must be 1, 2 or 3 (級地), got {grade}")
    _check(d)

    # 1. 所得
    salary = salary_income(d.salary_revenue, d.fiscal_year)
    adjustment = 0
    if d.salary_revenue > 8_500_000 and (
        d.disability == "special"
        or any(p.age < 23 and p.income <= rules.dependant_income_limit for p in d.dependants)
        or any(
            p.disability == "special" and p.income <= rules.dependant_income_limit
            for p in ([d.spouse] if d.spouse else []) + list(d.dependants)
        )
    ):
        # 所得金額調整控除 (子ども・特別障害者等を有する者, 租税特別措置法41条の3の3第1項).
        adjustment = (min(d.salary_revenue, 10_000_000) - 8_500_000) * 10 // 100
    salary_after = max(0, salary - adjustment)
    pension = pension_income(
        d.pension_revenue, age=d.age, other_income=salary_after + max(0, d.other_income)
    )
    if salary_after > 0 and pension > 0:
        # 所得金額調整控除 (給与所得と公的年金等に係る雑所得がある者, 同条第2項).
        both = min(salary_after, 100_000) + min(pension, 100_000) - 100_000
        if both > 0:
            adjustment += both
            salary_after -= both
    total_income = salary_after + pension + d.other_income
    total_income = max(0, total_income)

    # 2. 所得控除
    personal = _personal_deductions(d, rules, total_income)
    items: list[tuple[str, int]] = []
    if d.social_insurance > 0:
        items.append(("social_insurance", d.social_insurance))
    life = life_insurance_deduction(d.life_insurance)
    if life:
        items.append(("life_insurance", life))
    quake = earthquake_deduction(d.earthquake_insurance)
    if quake:
        items.append(("earthquake_insurance", quake))
    medical = medical_deduction(d.medical_expenses, total_income)
    if medical:
        items.append(("medical", medical))
    items.extend(personal.items)
    basic = basic_deduction(total_income)
    difference = personal.difference
    if basic:
        items.append(("basic", basic))
        difference += _DIFF["basic"]
    deductions = sum(amount for _key, amount in items)

    # 3. 課税標準 (地方税法20条の4の2第1項: 1,000円未満切捨て)
    taxable = _truncate(total_income - deductions, 1_000)

    # 4. 算出税額
    rate_city, rate_pref = (8, 2) if designated_city else (6, 4)
    computed_city = taxable * rate_city // 100
    computed_pref = taxable * rate_pref // 100

    # 5. 調整控除 (地方税法314条の6第1号, 37条第1号): none over 25M of 合計所得 (令和3年度から).
    if total_income > 25_000_000 or taxable <= 0:
        base = 0
    elif taxable <= 2_000_000:
        base = min(difference, taxable)
    else:
        base = max(difference - (taxable - 2_000_000), 50_000)
    share_city, share_pref = (4, 1) if designated_city else (3, 2)
    adjustment_city = min(computed_city, base * share_city // 100)
    adjustment_pref = min(computed_pref, base * share_pref // 100)
    after_city = computed_city - adjustment_city
    after_pref = computed_pref - adjustment_pref

    # 住宅借入金等特別税額控除 (地方税法附則5条の4の2・45条): the part income tax could not use,
    # at most cap_rate % of 課税総所得 and the cap; split 3:2 (指定都市 4:1), each share truncated.
    housing = min(
        max(0, d.housing_loan_credit),
        taxable * d.housing_loan_cap_rate // 100,
        d.housing_loan_cap,
    )
    housing_city = min(after_city, housing * share_city // 5)
    housing_pref = min(after_pref, housing * share_pref // 5)
    after_city -= housing_city
    after_pref -= housing_pref

    # 定額減税 (令和6・7年度 only).
    people = _flat_reduction_people(d, rules, total_income)
    per_city, per_pref = (8_000, 2_000) if designated_city else (6_000, 4_000)
    flat_city = min(after_city, people * per_city)
    flat_pref = min(after_pref, people * per_pref)
    after_city -= flat_city
    after_pref -= flat_pref

    # 6. 所得割: 100円未満切捨て (地方税法20条の4の2第3項), per tax.
    income_levy_city = _truncate(after_city, 100)
    income_levy_pref = _truncate(after_pref, 100)

    # 7. 均等割 and 森林環境税
    pc_city = rules.per_capita_city if per_capita_city is None else per_capita_city
    pc_pref = rules.per_capita_pref if per_capita_pref is None else per_capita_pref
    forest = rules.forest_tax

    # 8. 非課税
    n = counted_people(d, rules)
    exempt_reason = ""
    person_exempt = total_income <= PERSONAL_EXEMPTION_LIMIT and (
        d.disability in ("normal", "special")
        or d.age < rules.adult_age
        or (d.single_parent in ("mother", "father"))
        or d.widow
    )
    per_person, base_limit, addition = PER_CAPITA_LIMITS[grade]
    per_capita_limit = per_person * (1 + n) + base_limit + (addition if n else 0)
    levy_person, levy_base, levy_addition = INCOME_LEVY_LIMIT
    income_levy_limit = levy_person * (1 + n) + levy_base + (levy_addition if n else 0)
    exempt_per_capita = person_exempt or total_income <= per_capita_limit
    exempt_income_levy = exempt_per_capita or total_income <= income_levy_limit
    if person_exempt:
        exempt_reason = "person"
    elif exempt_per_capita:
        exempt_reason = "per_capita_limit"
    elif exempt_income_levy:
        exempt_reason = "income_levy_limit"
    if exempt_income_levy:
        income_levy_city = income_levy_pref = 0
        adjustment_city = adjustment_pref = housing_city = housing_pref = 0
        flat_city = flat_pref = 0
    if exempt_per_capita:
        pc_city = pc_pref = forest = 0

    total = income_levy_city + income_levy_pref + pc_city + pc_pref + forest
    return Assessment(
        salary_income=salary,
        total_income=total_income,
        deductions=deductions,
        taxable=taxable,
        computed_city=computed_city,
        computed_pref=computed_pref,
        adjustment_city=adjustment_city,
        adjustment_pref=adjustment_pref,
        housing_city=housing_city,
        housing_pref=housing_pref,
        income_levy_city=income_levy_city,
        income_levy_pref=income_levy_pref,
        per_capita_city=pc_city,
        per_capita_pref=pc_pref,
        forest_tax=forest,
        total=total,
        exempt_income_levy=exempt_income_levy,
        exempt_per_capita=exempt_per_capita,
        fiscal_year=d.fiscal_year,
        rule_version=rules.version,
        pension_income=pension,
        income_adjustment=adjustment,
        deduction_items=tuple(items),
        personal_difference=difference,
        flat_reduction_city=flat_city,
        flat_reduction_pref=flat_pref,
        exempt_reason=exempt_reason,
    )


def _check(d: Declaration) -> None:
    """Refuse inputs no declaration can hold (negative money, unknown codes)."""
    li = d.life_insurance
    lowest = min(
        d.salary_revenue,
        d.pension_revenue,
        d.social_insurance,
        d.earthquake_insurance,
        d.medical_expenses,
        d.housing_loan_credit,
        li.new_general,
        li.old_general,
        li.nursing_medical,
        li.new_annuity,
        li.old_annuity,
    )
    if lowest < 0:
        raise ValueError("amounts must not be negative")
    if d.age < 0:
        raise ValueError("ages must not be negative")
    if d.single_parent not in (None, "mother", "father"):
        raise ValueError(f"single_parent must be 'mother' or 'father', got {d.single_parent!r}")
    for who in (d, d.spouse, *d.dependants):
        if who is not None and who.disability not in (None, "normal", "special"):
            raise ValueError(f"disability must be 'normal' or 'special', got {who.disability!r}")
        if who is not None and who.age < 0:
            raise ValueError("ages must not be negative")


# --- (de)serialising declarations -------------------------------------------------------------


def _person_dict(p: Person) -> dict:
    return {
        "age": p.age,
        "income": p.income,
        "lives_with": p.lives_with,
        "parent": p.parent,
        "disability": p.disability,
    }


def declaration_to_dict(d: Declaration) -> dict:
    """The declaration as plain JSON-ready values (what an assessment stores as its inputs);
    written out field by field: ``dataclasses.asdict`` deep-copies and costs more than the
    calculation itself."""
    li = d.life_insurance
    return {
        "fiscal_year": d.fiscal_year,
        "age": d.age,
        "salary_revenue": d.salary_revenue,
        "pension_revenue": d.pension_revenue,
        "other_income": d.other_income,
        "social_insurance": d.social_insurance,
        "life_insurance": {
            "new_general": li.new_general,
            "old_general": li.old_general,
            "nursing_medical": li.nursing_medical,
            "new_annuity": li.new_annuity,
            "old_annuity": li.old_annuity,
        },
        "earthquake_insurance": d.earthquake_insurance,
        "medical_expenses": d.medical_expenses,
        "spouse": _person_dict(d.spouse) if d.spouse is not None else None,
        "dependants": [_person_dict(p) for p in d.dependants],
        "widow": d.widow,
        "single_parent": d.single_parent,
        "disability": d.disability,
        "working_student": d.working_student,
        "housing_loan_credit": d.housing_loan_credit,
        "housing_loan_cap_rate": d.housing_loan_cap_rate,
        "housing_loan_cap": d.housing_loan_cap,
    }


def declaration_from_dict(data: dict) -> Declaration:
    """The inverse of :func:`declaration_to_dict` (stored inputs of an assessment)."""
    values = dict(data)
    values["life_insurance"] = LifeInsurance(**(values.get("life_insurance") or {}))
    spouse = values.get("spouse")
    values["spouse"] = Person(**spouse) if spouse else None
    values["dependants"] = [Person(**p) for p in values.get("dependants") or []]
    return Declaration(**values)


# --- the steps a notice prints ----------------------------------------------------------------

STEP_KEYS = (
    "salary_revenue",
    "salary_income",
    "pension_revenue",
    "pension_income",
    "income_adjustment",
    "other_income",
    "total_income",
    "deductions",
    "taxable",
    "computed",
    "adjustment",
    "housing",
    "flat_reduction",
    "income_levy",
    "per_capita",
    "forest_tax",
    "total",
)


def steps(d: Declaration, a: Assessment) -> list[tuple[str, int | None, int | None]]:
    """(key, city, prefecture-or-total) rows for a notice, in calculation order. Rows that do not
    split by tax carry the amount in the first column and None in the second."""
    rows: list[tuple[str, int | None, int | None]] = []
    if d.salary_revenue:
        rows += [
            ("salary_revenue", d.salary_revenue, None),
            ("salary_income", a.salary_income, None),
        ]
    if d.pension_revenue:
        rows += [
            ("pension_revenue", d.pension_revenue, None),
            ("pension_income", a.pension_income, None),
        ]
    if a.income_adjustment:
        rows.append(("income_adjustment", a.income_adjustment, None))
    if d.other_income:
        rows.append(("other_income", d.other_income, None))
    rows += [
        ("total_income", a.total_income, None),
        ("deductions", a.deductions, None),
        ("taxable", a.taxable, None),
        ("computed", a.computed_city, a.computed_pref),
        ("adjustment", a.adjustment_city, a.adjustment_pref),
    ]
    if a.housing_city or a.housing_pref:
        rows.append(("housing", a.housing_city, a.housing_pref))
    if a.flat_reduction_city or a.flat_reduction_pref:
        rows.append(("flat_reduction", a.flat_reduction_city, a.flat_reduction_pref))
    rows += [
        ("income_levy", a.income_levy_city, a.income_levy_pref),
        ("per_capita", a.per_capita_city, a.per_capita_pref),
        ("forest_tax", a.forest_tax, None),
        ("total", a.total, None),
    ]
    return rows
