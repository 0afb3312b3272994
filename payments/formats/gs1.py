"""Convenience-store payment barcode: GS1-128 with application identifier 91.

The 44-digit layout is the one the convenience-store collection agencies share
(コンビニ収納用統一バーコード):

======  ==========================================================================
digits  content
======  ==========================================================================
1–2     "91", the application identifier
3–8     biller code (請求書発行企業コード), 6 digits, assigned by the agency
9–29    free area, 21 digits; ours: revenue code 2 + fiscal year 4 + installment key 15
30      reissue count (再発行区分) 0–9
31–36   payment deadline YYMMDD, 999999 when there is none
37      stamp flag (印紙フラグ); 0 for public money, which needs no revenue stamp
38–43   amount in yen, 6 digits, so at most 999,999 yen per slip
44      check digit, modulus 10 with weights 3-1
======  ==========================================================================

The symbol is Code 128 in set C with FNC1 right after the start character, which is what makes
it GS1-128; each pair of digits is one symbol character.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

APPLICATION_IDENTIFIER = "91"
NO_DEADLINE = "999999"
MAX_AMOUNT = 999_999
LENGTH = 44

_DIGITS = frozenset("0123456789")


def _is_digits(value: str, length: int) -> bool:
    # isascii() first: str.isdigit() alone also accepts "１" and "²".
    return len(value) == length and value.isascii() and value.isdigit()


def check_digit(d43: str) -> int:
    """Modulus-10 check digit over 43 data digits, weights 3, 1, 3 … from the rightmost digit."""
    if not _is_digits(d43, LENGTH - 1):
        raise ValueError(f"check digit needs exactly 43 ASCII digits, got {d43!r}")
    # Sum the bytes of the weight-3 and weight-1 positions at once (a convenience-store file has
    # a million of these); each ASCII digit is its value + 48.
    reversed_bytes = d43.encode()[::-1]
    weight3, weight1 = reversed_bytes[0::2], reversed_bytes[1::2]
    total = 3 * (sum(weight3) - 48 * len(weight3)) + sum(weight1) - 48 * len(weight1)
    return (10 - total % 10) % 10


def _digits_field(name: str, value: str, length: int) -> str:
    if not isinstance(value, str) or not _is_digits(value, length):
        raise ValueError(f"{name} must be {length} ASCII digits, got {value!r}")
    return value


def _int_field(name: str, value: int, lowest: int, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise ValueError(f"{name} must be an integer from {lowest:,} to {highest:,}, got {value!r}")
    return value


def build(
    *,
    biller_code: str,
    revenue_code: str,
    fiscal_year: int,
    installment_key: int | str,
    reissue: int = 0,
    deadline: date | None,
    amount: int,
    stamp_flag: int = 0,
) -> str:
    """The 44 digits of a payment slip's barcode.

    ``installment_key`` is zero-padded to 15 digits. A slip carries at most 999,999 yen: a larger
    installment has to be paid at a bank or split, so it is refused here rather than truncated.
    """
    _digits_field("biller_code", biller_code, 6)
    _digits_field("revenue_code", revenue_code, 2)
    _int_field("fiscal_year", fiscal_year, 1000, 9999)
    if isinstance(installment_key, str):
        if not installment_key or len(installment_key) > 15 or set(installment_key) - _DIGITS:
            raise ValueError(
                f"installment_key must be 1 to 15 ASCII digits, got {installment_key!r}"
            )
        key = installment_key.zfill(15)
    else:
        key = str(_int_field("installment_key", installment_key, 0, 10**15 - 1)).zfill(15)
    _int_field("reissue", reissue, 0, 9)
    _int_field("stamp_flag", stamp_flag, 0, 1)
    if isinstance(amount, int) and not isinstance(amount, bool) and amount > MAX_AMOUNT:
        raise ValueError(
            f"amount {amount:,} yen is over {MAX_AMOUNT:,} yen, the most a convenience-store slip "
            "can carry"
        )
    _int_field("amount", amount, 1, MAX_AMOUNT)
    if deadline is None:
        deadline_digits = NO_DEADLINE
    elif 2000 <= deadline.year <= 2099:
        deadline_digits = deadline.strftime("%y%m%d")
    else:
        raise ValueError(f"deadline must fall in 2000–2099 (two-digit year), got {deadline}")

    data = (
        f"{APPLICATION_IDENTIFIER}{biller_code}{revenue_code}{fiscal_year:04d}{key}"
        f"{reissue}{deadline_digits}{stamp_flag}{amount:06d}"
    )
    return data + str(check_digit(data))


def validate(code44: str) -> None:
    """``ValueError`` when a code is not one of ours or is damaged; :func:`parse` without building
    its fields (a convenience-store file checks a million codes and stores them as text)."""
    if not isinstance(code44, str) or not _is_digits(code44, LENGTH):
        raise ValueError(f"a payment barcode is 44 ASCII digits, got {code44!r}")
    expected = check_digit(code44[:43])
    if int(code44[43]) != expected:
        raise ValueError(
            f"check digit of {code44} is {code44[43]}, expected {expected}: the code is damaged"
        )
    if code44[:2] != APPLICATION_IDENTIFIER:
        raise ValueError(f"application identifier is {code44[:2]}, expected 91 in {code44}")
    _deadline(code44[30:36], code44)


@functools.lru_cache(maxsize=4096)
def _deadline_or_error(digits: str) -> date | None | ValueError:
    # Cached by the six digits: a file's codes carry a handful of distinct deadlines.
    if digits == NO_DEADLINE:
        return None
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError as error:
        return error


def _deadline(digits: str, code44: str) -> date | None:
    parsed = _deadline_or_error(digits)
    if isinstance(parsed, ValueError):
        raise ValueError(f"deadline {digits} in {code44} is not a date") from None
    return parsed


def parse(code44: str) -> dict[str, Any]:
    """The fields of a 44-digit barcode; ``ValueError`` when it is not one of ours or is damaged.

    Returns biller_code, revenue_code (str), fiscal_year (int), installment_key (str, 15 digits),
    reissue (int), deadline (date or None), stamp_flag (int) and amount (int, yen).
    """
    validate(code44)
    deadline = _deadline(code44[30:36], code44)
    return {
        "biller_code": code44[2:8],
        "revenue_code": code44[8:10],
        "fiscal_year": int(code44[10:14]),
        "installment_key": code44[14:29],
        "reissue": int(code44[29]),
        "deadline": deadline,
        "stamp_flag": int(code44[36]),
        "amount": int(code44[37:43]),
    }


# Code 128 symbol characters (ISO/IEC 15417): widths of bar, space, bar, space, bar, space in
# modules; the value is the index. 106 is the stop pattern, which has a final seventh bar.
_CODE128_PATTERNS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)  # fmt: skip
_START_C = 105
_FNC1 = 102
_STOP = 106
_QUIET_ZONE_MODULES = 10


def code128_values(code44: str) -> list[int]:
    """Symbol values of the GS1-128 symbol: start C, FNC1, digit pairs, check value, stop."""
    parse(code44)
    values = [_START_C, _FNC1] + [int(code44[i : i + 2]) for i in range(0, LENGTH, 2)]
    checksum = (values[0] + sum(position * value for position, value in enumerate(values))) % 103
    return [*values, checksum, _STOP]


def code128_svg(
    code44: str,
    *,
    module_mm: Decimal = Decimal("0.25"),
    bar_height_mm: Decimal = Decimal("10"),
) -> str:
    """The slip's barcode as a standalone SVG, with the human-readable digits beneath.

    Dimensions are in millimetres; the drawing is in modules (``viewBox``), so a printer scales it
    without blurring bar edges. The digits are shown the GS1 way, with the AI in parentheses.
    """
    bar_height = _svg_number(bar_height_mm / module_mm)
    widths = "".join(_CODE128_PATTERNS[value] for value in code128_values(code44))
    x = _QUIET_ZONE_MODULES
    rects = []
    for index, width_char in enumerate(widths):
        # Even elements are bars, odd ones spaces: only bars are drawn.
        if index % 2 == 0:
            rects.append(f'<rect x="{x}" y="0" width="{width_char}" height="{bar_height}"/>')
        x += int(width_char)
    total = x + _QUIET_ZONE_MODULES
    human_readable = escape(f"({code44[:2]}){code44[2:]}")
    # The digits span the bars exactly (textLength), in a size small enough that no monospace
    # font needs more room than that: at 3 mm, 46 digits overflowed the symbol and were cut off
    # at both ends.
    text_length = Decimal(x - _QUIET_ZONE_MODULES)
    text_size = min(Decimal(3) / module_mm, text_length / (len(human_readable) * Decimal("0.62")))
    height = bar_height_mm / module_mm + text_size + Decimal(1) / module_mm
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_svg_number(total * module_mm)}mm" '
        f'height="{_svg_number(height * module_mm)}mm" viewBox="0 0 {total} {_svg_number(height)}" '
        f'role="img" aria-label="{human_readable}">'
        f'<rect x="0" y="0" width="{total}" height="{_svg_number(height)}" fill="#fff"/>'
        f'<g fill="#000">{"".join(rects)}</g>'
        f'<text x="{_QUIET_ZONE_MODULES}" '
        f'y="{_svg_number(bar_height_mm / module_mm + text_size)}" '
        f'font-family="OCR-B, monospace" font-size="{_svg_number(text_size)}" '
        f'textLength="{_svg_number(text_length)}" lengthAdjust="spacing">{human_readable}</text>'
        "</svg>"
    )


def _svg_number(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')).normalize():f}"
