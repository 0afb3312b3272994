from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.formats import gs1

EXAMPLE_DATA = "9191234501202500000000012345602603310012300"
EXAMPLE_CODE = "91912345012025000000000123456026033100123006"
EXAMPLE_FIELDS = {
    "biller_code": "912345",
    "revenue_code": "01",
    "fiscal_year": 2025,
    "installment_key": "000000000123456",
    "reissue": 0,
    "deadline": date(2026, 3, 31),
    "stamp_flag": 0,
    "amount": 12_300,
}
SVG = "{http://www.w3.org/2000/svg}"


def _build_example(**overrides):
    arguments = {
        "biller_code": "912345",
        "revenue_code": "01",
        "fiscal_year": 2025,
        "installment_key": 123456,
        "deadline": date(2026, 3, 31),
        "amount": 12_300,
    }
    return gs1.build(**{**arguments, **overrides})


def test_specification_example_check_digit():
    assert gs1.check_digit(EXAMPLE_DATA) == 6


def test_specification_example_builds_exactly():
    assert _build_example() == EXAMPLE_CODE
    assert _build_example(installment_key="123456") == EXAMPLE_CODE


def test_specification_example_parses():
    assert gs1.parse(EXAMPLE_CODE) == EXAMPLE_FIELDS


def test_every_single_digit_corruption_is_rejected():
    for position, original in enumerate(EXAMPLE_CODE):
        for digit in "0123456789":
            if digit == original:
                continue
            damaged = EXAMPLE_CODE[:position] + digit + EXAMPLE_CODE[position + 1 :]
            with pytest.raises(ValueError):
                gs1.parse(damaged)


def test_no_deadline_is_written_as_999999():
    code = _build_example(deadline=None)
    assert code[30:36] == "999999"
    assert gs1.parse(code)["deadline"] is None


def test_amount_over_999999_is_refused():
    assert gs1.parse(_build_example(amount=999_999))["amount"] == 999_999
    with pytest.raises(ValueError, match="999,999"):
        _build_example(amount=1_000_000)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"biller_code": "12345"}, "biller_code"),
        ({"biller_code": "1234567"}, "biller_code"),
        ({"biller_code": "12345a"}, "biller_code"),
        ({"revenue_code": "1"}, "revenue_code"),
        ({"fiscal_year": 25}, "fiscal_year"),
        ({"installment_key": "1234567890123456"}, "installment_key"),
        ({"installment_key": 10**15}, "installment_key"),
        ({"installment_key": "12-34"}, "installment_key"),
        ({"reissue": 10}, "reissue"),
        ({"stamp_flag": 2}, "stamp_flag"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"deadline": date(2100, 1, 1)}, "deadline"),
    ],
)
def test_wrong_field_is_refused_with_its_name(overrides, field):
    with pytest.raises(ValueError, match=field):
        _build_example(**overrides)


@pytest.mark.parametrize(
    "code",
    [
        EXAMPLE_CODE[:-1],
        EXAMPLE_CODE + "0",
        "EAN" + EXAMPLE_CODE,
        EXAMPLE_CODE.replace("9", "９", 1),
        " " + EXAMPLE_CODE[1:],
        "",
    ],
)
def test_parse_refuses_anything_but_44_ascii_digits(code):
    with pytest.raises(ValueError, match="44"):
        gs1.parse(code)


def test_parse_refuses_another_application_identifier():
    data = "90" + EXAMPLE_DATA[2:]
    with pytest.raises(ValueError, match="identifier"):
        gs1.parse(data + str(gs1.check_digit(data)))


def test_parse_refuses_an_impossible_deadline():
    data = EXAMPLE_DATA[:30] + "261331" + EXAMPLE_DATA[36:]
    with pytest.raises(ValueError, match="261331"):
        gs1.parse(data + str(gs1.check_digit(data)))


@given(
    biller_code=st.from_regex(r"\A[0-9]{6}\Z"),
    revenue_code=st.from_regex(r"\A[0-9]{2}\Z"),
    fiscal_year=st.integers(min_value=1000, max_value=9999),
    installment_key=st.integers(min_value=0, max_value=10**15 - 1),
    reissue=st.integers(min_value=0, max_value=9),
    deadline=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    amount=st.integers(min_value=1, max_value=999_999),
    stamp_flag=st.integers(min_value=0, max_value=1),
)
def test_build_parse_round_trip(
    biller_code, revenue_code, fiscal_year, installment_key, reissue, deadline, amount, stamp_flag
):
    code = gs1.build(
        biller_code=biller_code,
        revenue_code=revenue_code,
        fiscal_year=fiscal_year,
        installment_key=installment_key,
        reissue=reissue,
        deadline=deadline,
        amount=amount,
        stamp_flag=stamp_flag,
    )
    assert len(code) == 44 and code.isdigit()
    assert gs1.parse(code) == {
        "biller_code": biller_code,
        "revenue_code": revenue_code,
        "fiscal_year": fiscal_year,
        "installment_key": f"{installment_key:015d}",
        "reissue": reissue,
        "deadline": deadline,
        "stamp_flag": stamp_flag,
        "amount": amount,
    }


def test_code128_symbol_is_start_c_fnc1_pairs_check_stop():
    values = gs1.code128_values(EXAMPLE_CODE)
    pairs = [int(EXAMPLE_CODE[i : i + 2]) for i in range(0, 44, 2)]
    assert values[:2] == [105, 102]
    assert values[2:24] == pairs
    weighted = 105 + sum(position * value for position, value in enumerate(values[1:24], start=1))
    assert values[24] == weighted % 103 == 74
    assert values[25] == 106


def test_code128_patterns_are_well_formed():
    patterns = gs1._CODE128_PATTERNS
    assert len(patterns) == 107 and len(set(patterns)) == 107
    for pattern in patterns[:106]:
        assert len(pattern) == 6
        assert sum(map(int, pattern)) == 11
        # Code 128's parity: the bars of every symbol character cover an even number of modules.
        assert sum(map(int, pattern[0::2])) % 2 == 0
    assert patterns[105] == "211232"  # start C
    assert patterns[102] == "411131"  # FNC1
    assert patterns[106] == "2331112"  # stop


def test_svg_draws_the_symbol_bars_and_the_digits():
    svg = gs1.code128_svg(EXAMPLE_CODE)
    root = ET.fromstring(svg)
    bars = root.findall(f"{SVG}g/{SVG}rect")
    # 25 symbol characters of three bars each, and the stop pattern's four.
    assert len(bars) == 25 * 3 + 4
    # Read the bars back into element widths and compare with the symbol's patterns.
    widths = []
    previous_end = None
    for bar in bars:
        x, width = int(bar.get("x")), int(bar.get("width"))
        if previous_end is not None:
            widths.append(x - previous_end)
        widths.append(width)
        previous_end = x + width
    expected = "".join(gs1._CODE128_PATTERNS[v] for v in gs1.code128_values(EXAMPLE_CODE))
    assert "".join(map(str, widths)) == expected
    assert int(bars[0].get("x")) == 10  # quiet zone
    assert root.get("viewBox").split()[2] == str(10 + 11 * 25 + 13 + 10)
    text = root.find(f"{SVG}text")
    assert text.text == "(91)912345012025000000000123456026033100123006"


def test_svg_refuses_a_damaged_code():
    with pytest.raises(ValueError):
        gs1.code128_svg(EXAMPLE_CODE[:-1] + "7")
