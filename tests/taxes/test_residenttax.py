"""The pure resident tax module: FORMATS.md §8's worked example, the statute's tables, and
properties that must hold for every declaration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxes.residenttax import (
    Declaration,
    LifeInsurance,
    NoRulesForYear,
    Person,
    assess,
    declaration_from_dict,
    declaration_to_dict,
    life_insurance_deduction,
    pension_income,
    salary_income,
    steps,
)


def worked_example(fiscal_year: int = 2025) -> Declaration:
    return Declaration(
        fiscal_year=fiscal_year,
        age=45,
        salary_revenue=4_370_000,
        social_insurance=420_000,
        life_insurance=LifeInsurance(old_general=100_000),
        spouse=Person(age=40),
        dependants=[Person(age=19), Person(age=16)],
    )


def test_formats_worked_example_is_exact():
    a = assess(worked_example())
    assert a.salary_income == 3_054_400
    assert dict(a.deduction_items) == {
        "social_insurance": 420_000,
        "life_insurance": 35_000,
        "spouse": 330_000,
        "dependant_specified": 450_000,
        "dependant_general": 330_000,
        "basic": 430_000,
    }
    assert a.deductions == 1_995_000
    assert a.taxable == 1_059_000
    assert (a.computed_city, a.computed_pref) == (63_540, 42_360)
    assert a.personal_difference == 330_000
    assert (a.adjustment_city, a.adjustment_pref) == (9_900, 6_600)
    assert (a.income_levy_city, a.income_levy_pref) == (53_600, 35_700)
    assert (a.per_capita_city, a.per_capita_pref, a.forest_tax) == (3_000, 1_000, 1_000)
    assert a.total == 94_300
    assert not a.exempt_income_levy and not a.exempt_per_capita


def test_steps_follow_the_calculation_and_end_with_the_total():
    d = worked_example()
    rows = steps(d, assess(d))
    keys = [key for key, _city, _pref in rows]
    assert keys[0] == "salary_revenue" and keys[-1] == "total"
    assert keys.index("taxable") < keys.index("computed") < keys.index("income_levy")
    assert rows[-1][1] == 94_300


def test_a_year_without_rules_raises_a_clear_error():
    for year in (2020, 2027):
        with pytest.raises(NoRulesForYear) as excinfo:
            assess(Declaration(fiscal_year=year, age=40, salary_revenue=3_000_000))
        assert str(year) in str(excinfo.value) and "2021–2026" in str(excinfo.value)


# 所得税法 別表第五 (令和2年分以後) and the formula of 28条3項 above 6,600,000.
@pytest.mark.parametrize(
    ("revenue", "expected"),
    [
        (550_999, 999),
        (551_000, 1_000),
        (1_618_999, 1_068_999),
        (1_619_000, 1_069_000),
        (1_619_999, 1_069_000),
        (1_620_000, 1_070_000),
        (1_622_000, 1_072_000),
        (1_624_000, 1_074_000),
        (1_627_999, 1_074_000),
        (1_628_000, 1_076_800),
        (1_799_999, 1_177_600),
        (1_800_000, 1_180_000),
        (3_599_999, 2_437_200),
        (3_600_000, 2_440_000),
        (4_370_000, 3_054_400),
        (6_599_999, 4_836_800),
        (6_600_000, 4_840_000),
        (8_500_000, 6_550_000),
        (10_000_000, 8_050_000),
    ],
)
def test_salary_income_by_the_statute_table_up_to_reiwa_7(revenue, expected):
    assert salary_income(revenue, 2025) == expected


# 令和8年度: the minimum 給与所得控除 is 650,000 up to 1,900,000 of revenue.
@pytest.mark.parametrize(
    ("revenue", "expected"),
    [
        (650_000, 0),
        (651_000, 1_000),
        (1_000_000, 350_000),
        (1_625_000, 975_000),
        (1_899_999, 1_249_999),
        (1_900_000, 1_250_000),
        (3_000_000, 2_020_000),
        (4_370_000, 3_054_400),
    ],
)
def test_salary_income_reiwa_8_minimum_of_650000(revenue, expected):
    assert salary_income(revenue, 2026) == expected


def test_reiwa_8_dependant_limit_is_580000():
    child_with_a_job = Person(age=17, income=550_000)
    before = assess(
        Declaration(
            fiscal_year=2025, age=45, salary_revenue=5_000_000, dependants=[child_with_a_job]
        )
    )
    after = assess(
        Declaration(
            fiscal_year=2026, age=45, salary_revenue=5_000_000, dependants=[child_with_a_job]
        )
    )
    assert "dependant_general" not in dict(before.deduction_items)
    assert dict(after.deduction_items)["dependant_general"] == 330_000


@pytest.mark.parametrize(
    ("income", "amount"),
    [(580_000, None), (580_001, 450_000), (950_000, 450_000), (1_000_000, 410_000),
     (1_230_000, 30_000), (1_230_001, 0)],
)  # fmt: skip
def test_specific_relative_deduction_from_reiwa_8(income, amount):
    student = Person(age=20, income=income)
    a = assess(
        Declaration(fiscal_year=2026, age=50, salary_revenue=6_000_000, dependants=[student])
    )
    items = dict(a.deduction_items)
    if amount is None:
        assert items["dependant_specified"] == 450_000
    else:
        assert items.get("specific_relative", 0) == amount
    earlier = assess(
        Declaration(fiscal_year=2025, age=50, salary_revenue=6_000_000, dependants=[student])
    )
    assert "specific_relative" not in dict(earlier.deduction_items)


@pytest.mark.parametrize(
    ("premiums", "expected"),
    [
        (LifeInsurance(new_general=12_000), 12_000),
        (LifeInsurance(new_general=32_000), 22_000),
        (LifeInsurance(new_general=56_000), 28_000),
        (LifeInsurance(new_general=90_000), 28_000),
        (LifeInsurance(old_general=15_000), 15_000),
        (LifeInsurance(old_general=40_000), 27_500),
        (LifeInsurance(old_general=70_000), 35_000),
        (LifeInsurance(old_general=100_000), 35_000),
        (LifeInsurance(new_general=20_000, old_general=10_000), 26_000),
        (LifeInsurance(new_general=100_000, old_general=100_000), 35_000),
        (LifeInsurance(new_general=25_001), 18_501),  # ½ rounded up
        (
            LifeInsurance(old_general=100_000, nursing_medical=100_000, old_annuity=100_000),
            70_000,
        ),
    ],
)
def test_life_insurance_deduction_in_resident_tax_amounts(premiums, expected):
    assert life_insurance_deduction(premiums) == expected


@pytest.mark.parametrize(
    ("revenue", "age", "other", "expected"),
    [
        (1_100_000, 66, 0, 0),
        (2_000_000, 66, 0, 900_000),
        (3_500_000, 66, 0, 2_350_000),  # 75 % − 275,000
        (1_000_000, 60, 0, 400_000),
        (2_000_000, 60, 0, 1_225_000),
        (5_000_000, 66, 0, 3_565_000),  # 85 % − 685,000
        (2_000_000, 66, 15_000_000, 1_000_000),  # other income over 10M: 100,000 less
    ],
)
def test_public_pension_income(revenue, age, other, expected):
    assert pension_income(revenue, age=age, other_income=other) == expected


def test_salary_and_pension_together_get_the_income_adjustment():
    a = assess(
        Declaration(fiscal_year=2025, age=67, salary_revenue=1_000_000, pension_revenue=2_000_000)
    )
    # 給与所得 450,000 and 年金所得 900,000: 100,000 + 100,000 − 100,000 = 100,000 off 給与所得.
    assert a.income_adjustment == 100_000
    assert a.total_income == 450_000 - 100_000 + 900_000


def test_grade_2_city_charges_only_the_per_capita_levy_just_above_its_limit():
    single = Declaration(fiscal_year=2025, age=30, salary_revenue=1_000_000)  # 合計所得 450,000
    grade1 = assess(single, grade=1)
    grade2 = assess(single, grade=2)
    assert grade1.total == 0 and grade1.exempt_per_capita
    assert grade2.exempt_income_levy and not grade2.exempt_per_capita
    assert grade2.income_levy == 0 and grade2.total == 3_000 + 1_000 + 1_000


def test_income_levy_limit_counts_dependants_under_16():
    # N = 2 (spouse, child of 10): 所得割 limit 350,000 × 3 + 100,000 + 320,000 = 1,470,000.
    family = dict(fiscal_year=2025, age=40, spouse=Person(age=38), dependants=[Person(age=10)])
    below = assess(Declaration(salary_revenue=2_160_000, **family))  # 給与所得 1,432,000
    above = assess(Declaration(salary_revenue=2_220_000, **family))  # 給与所得 1,474,000
    assert below.total_income <= 1_470_000 < above.total_income
    assert below.exempt_income_levy and below.income_levy == 0
    assert not above.exempt_income_levy


def test_minors_are_exempt_under_20_until_reiwa_4_and_under_18_from_reiwa_5():
    nineteen = dict(age=19, salary_revenue=1_500_000)  # 合計所得 950,000
    assert assess(Declaration(fiscal_year=2022, **nineteen)).total == 0
    assert assess(Declaration(fiscal_year=2023, **nineteen)).total > 0


def test_single_parent_with_low_income_pays_nothing():
    a = assess(
        Declaration(
            fiscal_year=2025,
            age=35,
            salary_revenue=2_000_000,
            single_parent="mother",
            dependants=[Person(age=8)],
        )
    )
    assert a.total_income <= 1_350_000 and a.total == 0 and a.exempt_reason == "person"


def test_designated_city_splits_rates_8_2_and_adjustment_4_1():
    a = assess(worked_example(), designated_city=True)
    assert (a.computed_city, a.computed_pref) == (84_720, 21_180)
    assert (a.adjustment_city, a.adjustment_pref) == (13_200, 3_300)
    assert (a.income_levy_city, a.income_levy_pref) == (71_500, 17_800)


def test_housing_loan_credit_is_capped_and_split_3_2():
    d = Declaration(fiscal_year=2025, age=40, salary_revenue=6_000_000, housing_loan_credit=200_000)
    a = assess(d)
    cap = min(a.taxable * 5 // 100, 97_500)
    assert a.housing_city == cap * 3 // 5 and a.housing_pref == cap * 2 // 5


def test_reiwa_6_flat_reduction_of_10000_per_person():
    a = assess(worked_example(2024))
    # four people (本人, spouse, two children): 24,000 city and 16,000 prefecture.
    assert (a.flat_reduction_city, a.flat_reduction_pref) == (24_000, 16_000)
    assert (a.income_levy_city, a.income_levy_pref) == (29_600, 19_700)
    assert a.total == 54_300


def test_per_capita_levy_by_year_and_prefecture_surcharge():
    d = Declaration(fiscal_year=2023, age=40, salary_revenue=3_000_000)
    a = assess(d)
    assert (a.per_capita_city, a.per_capita_pref, a.forest_tax) == (3_500, 1_500, 0)
    b = assess(
        Declaration(fiscal_year=2025, age=40, salary_revenue=3_000_000), per_capita_pref=1_300
    )
    assert b.per_capita_pref == 1_300


def test_declaration_round_trips_through_a_dict():
    d = worked_example()
    assert declaration_from_dict(declaration_to_dict(d)) == d


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        assess(Declaration(fiscal_year=2025, age=40, salary_revenue=-1))
    with pytest.raises(ValueError):
        assess(Declaration(fiscal_year=2025, age=40, single_parent="aunt"))
    with pytest.raises(ValueError):
        assess(Declaration(fiscal_year=2025, age=40), grade=4)


# --- properties --------------------------------------------------------------------------------

years = st.sampled_from(range(2021, 2027))
money = st.integers(min_value=0, max_value=30_000_000)
people = st.builds(
    Person,
    age=st.integers(min_value=0, max_value=95),
    income=st.integers(min_value=0, max_value=2_000_000),
    lives_with=st.booleans(),
    parent=st.booleans(),
    disability=st.sampled_from([None, "normal", "special"]),
)
declarations = st.builds(
    Declaration,
    fiscal_year=years,
    age=st.integers(min_value=15, max_value=95),
    salary_revenue=money,
    pension_revenue=st.integers(min_value=0, max_value=5_000_000),
    other_income=st.integers(min_value=0, max_value=5_000_000),
    social_insurance=st.integers(min_value=0, max_value=2_000_000),
    life_insurance=st.builds(
        LifeInsurance,
        new_general=st.integers(0, 200_000),
        old_general=st.integers(0, 200_000),
        nursing_medical=st.integers(0, 200_000),
        new_annuity=st.integers(0, 200_000),
        old_annuity=st.integers(0, 200_000),
    ),
    earthquake_insurance=st.integers(0, 100_000),
    medical_expenses=st.integers(0, 3_000_000),
    spouse=st.one_of(st.none(), people),
    dependants=st.lists(people, max_size=4),
    widow=st.booleans(),
    single_parent=st.sampled_from([None, "mother", "father"]),
    disability=st.sampled_from([None, "normal", "special"]),
    working_student=st.booleans(),
    housing_loan_credit=st.integers(0, 400_000),
)
options = st.fixed_dictionaries(
    {"grade": st.sampled_from([1, 2, 3]), "designated_city": st.booleans()}
)


@settings(max_examples=400, deadline=None)
@given(declarations, options, st.integers(min_value=1, max_value=3_000_000))
def test_more_salary_never_lowers_the_tax(d, opts, raise_by):
    from dataclasses import replace

    before = assess(d, **opts)
    after = assess(replace(d, salary_revenue=d.salary_revenue + raise_by), **opts)
    assert after.total >= before.total
    assert after.income_levy_city >= before.income_levy_city
    assert after.income_levy_pref >= before.income_levy_pref


@settings(max_examples=400, deadline=None)
@given(declarations, options)
def test_levies_are_multiples_of_100_and_add_up(d, opts):
    a = assess(d, **opts)
    assert a.income_levy_city % 100 == 0 and a.income_levy_pref % 100 == 0
    assert a.taxable % 1_000 == 0
    assert a.total == a.income_levy + a.per_capita + a.forest_tax
    assert 0 <= a.income_levy_city <= a.computed_city
    assert 0 <= a.income_levy_pref <= a.computed_pref


@settings(max_examples=400, deadline=None)
@given(declarations, options)
def test_exempt_means_zero(d, opts):
    a = assess(d, **opts)
    if a.exempt_income_levy:
        assert a.income_levy == 0
    if a.exempt_per_capita:
        assert a.exempt_income_levy and a.total == 0
    if a.total_income <= 450_000 and opts["grade"] == 1:
        # Below the smallest limit (本人 alone, 1級地) nobody pays anything.
        assert a.total == 0


@settings(max_examples=200, deadline=None)
@given(declarations)
def test_more_deductible_insurance_never_raises_the_tax(d):
    from dataclasses import replace

    before = assess(d)
    after = assess(replace(d, social_insurance=d.social_insurance + 100_000))
    assert after.total <= before.total
