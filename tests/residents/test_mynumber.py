from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from residents import mynumber

VALID_MY_NUMBERS = ["526018159084", "301661318600", "913909960300"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("number", VALID_MY_NUMBERS)
def test_published_examples_are_valid(number):
    assert mynumber.is_valid(number)
    assert mynumber.check_digit(number[:11]) == int(number[11])
    assert mynumber.normalize(number) == number


def _remainder(base11: str) -> int:
    """Σ Pn × Qn mod 11, written out from FORMATS.md §1 apart from the module under test."""
    weights = [2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6]  # Q1 … Q11, P1 being the rightmost digit
    return sum(int(p) * q for p, q in zip(reversed(base11), weights, strict=True)) % 11


def _single_digit_corruptions(number: str) -> list[str]:
    return [
        number[:position] + other + number[position + 1 :]
        for position in range(12)
        for other in "0123456789"
        if other != number[position]
    ]


def test_every_single_digit_corruption_is_rejected_when_the_check_digit_is_not_zero():
    corrupted = _single_digit_corruptions("526018159084")
    assert len(corrupted) == 12 * 9
    assert [candidate for candidate in corrupted if mynumber.is_valid(candidate)] == []


@pytest.mark.parametrize(("number", "undetected"), [("301661318600", 8), ("913909960300", 10)])
def test_single_digit_corruptions_slip_through_only_between_remainders_0_and_1(number, undetected):
    # The rule maps both r = 0 and r = 1 to check digit 0, so when the check digit is 0 a
    # corruption that moves r between them cannot be detected; every other one must be.
    corrupted = _single_digit_corruptions(number)
    assert len(corrupted) == 12 * 9
    accepted = [candidate for candidate in corrupted if mynumber.is_valid(candidate)]
    expected = [c for c in corrupted if c[11] == "0" and _remainder(c[:11]) in (0, 1)]
    assert accepted == expected
    assert len(accepted) == undetected


@pytest.mark.parametrize("number", VALID_MY_NUMBERS)
def test_full_width_digits_are_accepted_and_normalised(number):
    full_width = number.translate(FULL_WIDTH)
    assert mynumber.is_valid(full_width)
    assert mynumber.normalize(full_width) == number


@pytest.mark.parametrize(
    "text",
    [
        "5260-1815-9084",
        "5260 1815 9084",
        " 526018159084",
        "526018159084 ",
        "526018159084\n",
        "52601815908",
        "5260181590840",
        "",
        "52601815908a",
        # Arabic-Indic digits are digits to Python's int(), but not to the register.
        "٥٢٦٠١٨١٥٩٠٨٤",
    ],
)
def test_anything_but_twelve_digits_is_rejected(text):
    assert not mynumber.is_valid(text)
    with pytest.raises(ValueError, match="12桁") as excinfo:
        mynumber.normalize(text)
    with translation.override("en"):
        assert str(excinfo.value) == "My Number must be 12 digits."


def test_wrong_check_digit_gets_its_own_message():
    with pytest.raises(ValueError, match="検査用数字") as excinfo:
        mynumber.normalize("526018159085")
    with translation.override("en"):
        assert "check digit is wrong" in str(excinfo.value)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_any_eleven_digits_with_their_check_digit_are_valid(base):
    number = base + str(mynumber.check_digit(base))
    assert mynumber.is_valid(number)
    assert mynumber.normalize(number) == number


@given(st.text(max_size=14))
def test_is_valid_agrees_with_normalize(text):
    try:
        mynumber.normalize(text)
    except ValueError:
        assert not mynumber.is_valid(text)
    else:
        assert mynumber.is_valid(text)


@pytest.mark.parametrize(
    "base", ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"]
)
def test_check_digit_requires_eleven_ascii_digits(base):
    with pytest.raises(ValueError):
        mynumber.check_digit(base)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("526018159084", "********9084"),
        ("５２６０１８１５９０８４", "********9084"),
        ("1234", "************"),
        ("5260-1815-9084", "************"),
    ],
)
def test_mask_shows_only_the_last_four_digits(text, masked):
    assert mynumber.mask(text) == masked


def test_national_tax_agency_corporate_number_is_valid():
    assert mynumber.is_valid_corporate("7000012050002")  # 国税庁
    assert mynumber.corporate_check_digit("000012050002") == 7


@pytest.mark.parametrize(
    "number",
    ["6000012050002", "7000012050003", "700001205000", "70000120500020", "7000-01205-0002"],
)
def test_corrupted_corporate_numbers_are_rejected(number):
    assert not mynumber.is_valid_corporate(number)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_twelve_digits_with_their_corporate_check_digit_are_valid(base):
    check = mynumber.corporate_check_digit(base)
    assert 1 <= check <= 9
    assert mynumber.is_valid_corporate(f"{check}{base}")
