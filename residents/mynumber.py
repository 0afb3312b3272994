"""My Number (個人番号) and corporate number (法人番号) check digits.

The rules are those of 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令
8条 (My Number) and 法人番号の指定等に関する省令 2条 (corporate number); FORMATS.md §1 restates
them. Pure functions (Django only for the messages' translation), so batch code, forms and tests
share them.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# `\d` would also accept Arabic-Indic and other Unicode digits, which no register holds.
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
_THIRTEEN_DIGITS = re.compile(r"[0-9]{13}")

MESSAGE_NOT_12_DIGITS = gettext_lazy("個人番号は12桁の数字で入力してください。")
MESSAGE_BAD_CHECK_DIGIT = gettext_lazy("個人番号の検査用数字が正しくありません。")


def _to_ascii_digits(s: str) -> str:
    # Residents type full-width digits with a Japanese IME on; they are the same number.
    return s.translate(_FULL_WIDTH_DIGITS)


def check_digit(base11: str) -> int:
    """Return the check digit for the 11 base digits of a My Number.

    Digits are numbered from the lowest: Pn weighs n + 1 for n ≤ 6 and n − 5 for n ≥ 7.
    """
    if not _ELEVEN_DIGITS.fullmatch(base11):
        raise ValueError(f"expected 11 ASCII digits, got {base11!r}")
    total = 0
    for n, digit in enumerate(reversed(base11), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalize(s: str) -> str:
    """Return the My Number as 12 ASCII digits, or raise ValueError with a bilingual message."""
    digits = _to_ascii_digits(s)
    if not _TWELVE_DIGITS.fullmatch(digits):
        raise ValueError(MESSAGE_NOT_12_DIGITS)
    if check_digit(digits[:11]) != int(digits[11]):
        raise ValueError(MESSAGE_BAD_CHECK_DIGIT)
    return digits


def is_valid(s: str) -> bool:
    """Whether `s` is a My Number: 12 digits (full-width allowed), no separators, right check digit."""
    try:
        normalize(s)
    except ValueError:
        return False
    return True


def mask(s: str) -> str:
    """Show only the last four digits, e.g. ``********9084``, for screens and logs.

    Anything that is not 12 digits is masked entirely: a display helper must never leak a
    mistyped number, nor break the page that shows it.
    """
    digits = _to_ascii_digits(s)
    if not _TWELVE_DIGITS.fullmatch(digits):
        return "*" * 12
    return "*" * 8 + digits[-4:]


def corporate_check_digit(base12: str) -> int:
    """Return the check digit (the leading digit) for the 12 base digits of a corporate number.

    Digits are numbered from the lowest: odd positions weigh 1, even positions weigh 2.
    """
    if not _TWELVE_DIGITS.fullmatch(base12):
        raise ValueError(f"expected 12 ASCII digits, got {base12!r}")
    total = sum(
        int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base12), start=1)
    )
    return 9 - total % 9


def is_valid_corporate(s: str) -> bool:
    """Whether `s` is a corporate number: 13 digits whose first digit checks the other 12."""
    digits = _to_ascii_digits(s)
    if not _THIRTEEN_DIGITS.fullmatch(digits):
        return False
    return corporate_check_digit(digits[1:]) == int(digits[0])
