"""Direct debit files in the Zengin format (全銀協規定 口座振替, 種別コード 91).

A file is a run of fixed 120-byte records: one header (1), the data records (2), one trailer (8)
and one end record (9). N fields are right-aligned and zero-padded, C fields left-aligned and
space-padded. The only characters are those of JIS X 0201 the banks accept: digits, A–Z,
half-width katakana ｱ–ﾝ with ﾞ and ﾟ, space and ``( ) - . /``, encoded in cp932 (one byte each).

We send a request file (every result code 0, the trailer's debited and failed figures zero) and
the bank sends back the same file with each record's result code filled in and the trailer's
debited and failed figures set. Records may be followed by CRLF or by nothing, as the contracting
bank's transmission software wants; :func:`build_request` writes the separator after every record
(122 bytes a record with CRLF), and the parsers accept CRLF, LF or no separator at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import jaconv

RECORD_LENGTH = 120
TYPE_CODE_DIRECT_DEBIT = "91"
# Header 4th byte: 0 = JIS (cp932 on our side), 1 = EBCDIC, which we neither send nor read.
CODE_TYPE_JIS = "0"

RESULT_CODES: dict[int, str] = {
    0: "振替済",
    1: "資金不足",
    2: "預金取引なし",
    3: "預金者の都合による振替停止",
    4: "預金口座振替依頼書なし",
    8: "委託者の都合による振替停止",
    9: "その他",
}
RESULT_DEBITED = 0

ACCOUNT_TYPES: dict[int, str] = {1: "普通", 2: "当座", 4: "貯蓄", 9: "その他"}
NEW_CODES: dict[int, str] = {0: "その他", 1: "初回", 2: "変更"}

_ALLOWED = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ()-./" + "".join(chr(c) for c in range(0xFF71, 0xFFA0))
)
# Banks register small kana as full-size ones (キュウ → ｷﾕｳ).
_SMALL_TO_FULL_SIZE = str.maketrans(
    "ァィゥェォッャュョヮヵヶｧｨｩｪｫｯｬｭｮ", "アイウエオツヤユヨワカケｱｲｳｴｵﾂﾔﾕﾖ"
)
# Not in JIS X 0201: the long vowel mark is written as a hyphen (スーパー → ｽ-ﾊﾟ-) and the old
# kana ヰ ヱ by their sound, as banks' account-name rules say.
_SUBSTITUTES = str.maketrans({"ー": "-", "ｰ": "-", "ヰ": "イ", "ヱ": "エ"})


def to_zengin_kana(s: str) -> str:
    """``s`` in the characters a Zengin file allows; ``ValueError`` naming what cannot be.

    Hiragana becomes katakana, full-width katakana half-width (ガ → ｶﾞ), small kana full-size,
    full-width digits and letters ASCII, lower case upper case.
    """
    out = []
    for position, original in enumerate(unicodedata.normalize("NFC", s), start=1):
        converted = jaconv.hira2kata(original)
        converted = converted.translate(_SMALL_TO_FULL_SIZE).translate(_SUBSTITUTES)
        converted = jaconv.z2h(converted, kana=True, ascii=True, digit=True)
        converted = converted.translate(_SMALL_TO_FULL_SIZE).translate(_SUBSTITUTES)
        if converted.isascii():
            converted = converted.upper()
        if not converted or any(ch not in _ALLOWED for ch in converted):
            raise ValueError(
                f"{original!r} (U+{ord(original):04X}) at position {position} of {s!r} cannot be "
                "written in a Zengin file (digits, A–Z, half-width katakana, space and ( ) - . /)"
            )
        out.append(converted)
    return "".join(out)


@dataclass
class DebitRecord:
    """One data record (2): whom to debit, how much, and (in a result file) what happened."""

    bank_code: str
    bank_name_kana: str
    branch_code: str
    branch_name_kana: str
    account_type: int
    account_number: str
    holder_kana: str
    amount: int
    new_code: int
    customer_number: str
    result_code: int = 0

    @property
    def debited(self) -> bool:
        return self.result_code == RESULT_DEBITED

    @property
    def result_text(self) -> str:
        return RESULT_CODES.get(self.result_code, f"不明な結果コード {self.result_code}")


@dataclass
class ZenginHeader:
    """Header record (1): the originator (the city) and the account the money goes to."""

    type_code: str
    code_type: str
    originator_code: str
    originator_name_kana: str
    debit_date: str
    bank_code: str
    bank_name_kana: str
    branch_code: str
    branch_name_kana: str
    account_type: int
    account_number: str

    def debit_date_near(self, reference: date) -> date:
        """The debit date (the file gives only MMDD) in the year that puts it nearest ``reference``.

        Result files come back within days of the debit date, so the nearest is the right one,
        also across the new year.
        """
        month, day = int(self.debit_date[:2]), int(self.debit_date[2:])
        candidates = []
        for year in (reference.year - 1, reference.year, reference.year + 1):
            try:
                candidates.append(date(year, month, day))
            except ValueError:  # 29 February outside a leap year
                continue
        return min(candidates, key=lambda candidate: abs((candidate - reference).days))


@dataclass
class ZenginTrailer:
    """Trailer record (8): counts and totals, checked against the data records."""

    total_count: int
    total_amount: int
    debited_count: int
    debited_amount: int
    failed_count: int
    failed_amount: int


@dataclass
class ZenginFile:
    header: ZenginHeader
    records: list[DebitRecord]
    trailer: ZenginTrailer


# (field, first byte, last byte, kind) with positions 1-based and inclusive, as the bank
# specifications print them.
_Layout = Sequence[tuple[str, int, int, Literal["N", "C"]]]

HEADER_LAYOUT: _Layout = (
    ("data_type", 1, 1, "N"),
    ("type_code", 2, 3, "N"),
    ("code_type", 4, 4, "N"),
    ("originator_code", 5, 14, "N"),
    ("originator_name_kana", 15, 54, "C"),
    ("debit_date", 55, 58, "N"),
    ("bank_code", 59, 62, "N"),
    ("bank_name_kana", 63, 77, "C"),
    ("branch_code", 78, 80, "N"),
    ("branch_name_kana", 81, 95, "C"),
    ("account_type", 96, 96, "N"),
    ("account_number", 97, 103, "N"),
    ("blank", 104, 120, "C"),
)
DATA_LAYOUT: _Layout = (
    ("data_type", 1, 1, "N"),
    ("bank_code", 2, 5, "N"),
    ("bank_name_kana", 6, 20, "C"),
    ("branch_code", 21, 23, "N"),
    ("branch_name_kana", 24, 38, "C"),
    ("blank", 39, 42, "C"),
    ("account_type", 43, 43, "N"),
    ("account_number", 44, 50, "N"),
    ("holder_kana", 51, 80, "C"),
    ("amount", 81, 90, "N"),
    ("new_code", 91, 91, "N"),
    ("customer_number", 92, 111, "C"),
    ("result_code", 112, 112, "N"),
    ("blank", 113, 120, "C"),
)
TRAILER_LAYOUT: _Layout = (
    ("data_type", 1, 1, "N"),
    ("total_count", 2, 7, "N"),
    ("total_amount", 8, 19, "N"),
    ("debited_count", 20, 25, "N"),
    ("debited_amount", 26, 37, "N"),
    ("failed_count", 38, 43, "N"),
    ("failed_amount", 44, 55, "N"),
    ("blank", 56, 120, "C"),
)
END_LAYOUT: _Layout = (
    ("data_type", 1, 1, "N"),
    ("blank", 2, 120, "C"),
)

# Names are cut to their field, as banks match on the leading characters; a customer number is
# never cut, because the result file is matched back to installments by it.
_TRUNCATABLE = frozenset(
    {"originator_name_kana", "bank_name_kana", "branch_name_kana", "holder_kana"}
)


# --- writing ---------------------------------------------------------------------------------


def _render(layout: _Layout, values: Mapping[str, str | int], what: str) -> bytes:
    parts = []
    for name, first, last, kind in layout:
        width = last - first + 1
        value = values.get(name, "")
        if kind == "N":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"{what}: {name} must be digits, got {value!r}")
            text = str(value).zfill(width)
            if len(text) != width or not text.isascii() or not text.isdigit():
                raise ValueError(f"{what}: {name} {value!r} is not {width} digits or fewer")
        else:
            text = str(value)
            if len(text) > width:
                if name not in _TRUNCATABLE:
                    raise ValueError(f"{what}: {name} {value!r} is longer than {width} characters")
                text = text[:width]
            text = text.ljust(width)
        parts.append(text)
    return "".join(parts).encode("cp932")


def _kana(value: str, name: str, what: str) -> str:
    try:
        return to_zengin_kana(value)
    except ValueError as error:
        raise ValueError(f"{what}: {name}: {error}") from None


def _choice(value: int, name: str, allowed: Mapping[int, str], what: str) -> int:
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{what}: {name} {value!r} is not one of {sorted(allowed)}")
    return value


def _data_values(record: DebitRecord, what: str) -> dict[str, str | int]:
    if set(record.customer_number) - _ALLOWED or not record.customer_number:
        raise ValueError(
            f"{what}: customer_number {record.customer_number!r} must be digits, A–Z, half-width "
            "katakana, space or ( ) - . /"
        )
    if isinstance(record.amount, bool) or not isinstance(record.amount, int) or record.amount < 1:
        raise ValueError(f"{what}: amount must be a positive number of yen, got {record.amount!r}")
    return {
        "data_type": 2,
        "bank_code": record.bank_code,
        "bank_name_kana": _kana(record.bank_name_kana, "bank_name_kana", what),
        "branch_code": record.branch_code,
        "branch_name_kana": _kana(record.branch_name_kana, "branch_name_kana", what),
        "account_type": _choice(record.account_type, "account_type", ACCOUNT_TYPES, what),
        "account_number": record.account_number,
        "holder_kana": _kana(record.holder_kana, "holder_kana", what),
        "amount": record.amount,
        "new_code": _choice(record.new_code, "new_code", NEW_CODES, what),
        "customer_number": record.customer_number,
        "result_code": _choice(record.result_code, "result_code", RESULT_CODES, what),
    }


def _build(
    *,
    originator_code: str,
    originator_name_kana: str,
    debit_date: date,
    bank_code: str,
    bank_name_kana: str,
    branch_code: str,
    branch_name_kana: str,
    account_type: int,
    account_number: str,
    records: Sequence[DebitRecord],
    line_ending: str,
    with_results: bool,
) -> bytes:
    if line_ending not in ("\r\n", ""):
        raise ValueError(f"line_ending must be CRLF or empty, got {line_ending!r}")
    header_values: dict[str, str | int] = {
        "data_type": 1,
        "type_code": TYPE_CODE_DIRECT_DEBIT,
        "code_type": CODE_TYPE_JIS,
        "originator_code": originator_code,
        "originator_name_kana": _kana(originator_name_kana, "originator_name_kana", "record 1"),
        "debit_date": debit_date.strftime("%m%d"),
        "bank_code": bank_code,
        "bank_name_kana": _kana(bank_name_kana, "bank_name_kana", "record 1"),
        "branch_code": branch_code,
        "branch_name_kana": _kana(branch_name_kana, "branch_name_kana", "record 1"),
        "account_type": _choice(account_type, "account_type", ACCOUNT_TYPES, "record 1"),
        "account_number": account_number,
    }
    lines = [_render(HEADER_LAYOUT, header_values, "record 1")]
    for number, record in enumerate(records, start=2):
        what = f"record {number} (customer {record.customer_number!r})"
        if not with_results and record.result_code != RESULT_DEBITED:
            raise ValueError(
                f"{what}: a request file carries result code 0, not {record.result_code}"
            )
        lines.append(_render(DATA_LAYOUT, _data_values(record, what), what))

    debited = [r for r in records if r.result_code == RESULT_DEBITED] if with_results else []
    failed = [r for r in records if r.result_code != RESULT_DEBITED] if with_results else []
    trailer_values: dict[str, str | int] = {
        "data_type": 8,
        "total_count": len(records),
        "total_amount": sum(r.amount for r in records),
        "debited_count": len(debited),
        "debited_amount": sum(r.amount for r in debited),
        "failed_count": len(failed),
        "failed_amount": sum(r.amount for r in failed),
    }
    lines.append(_render(TRAILER_LAYOUT, trailer_values, f"record {len(records) + 2} (trailer)"))
    lines.append(_render(END_LAYOUT, {"data_type": 9}, f"record {len(records) + 3} (end)"))
    separator = line_ending.encode("ascii")
    return b"".join(line + separator for line in lines)


def build_request(
    *,
    originator_code: str,
    originator_name_kana: str,
    debit_date: date,
    bank_code: str,
    bank_name_kana: str,
    branch_code: str,
    branch_name_kana: str,
    account_type: int,
    account_number: str,
    records: list[DebitRecord],
    line_ending: str = "\r\n",
) -> bytes:
    """The request file sent to the bank for one debit date.

    The header names the originator (委託者, the city, with the code the bank assigned) and the
    city's receiving account; kana is normalised with :func:`to_zengin_kana`, and names longer
    than their field are cut. ``line_ending`` is ``"\\r\\n"`` or ``""`` (the bank's choice).
    Raises ``ValueError`` naming the record for a value that cannot be written.
    """
    return _build(
        originator_code=originator_code,
        originator_name_kana=originator_name_kana,
        debit_date=debit_date,
        bank_code=bank_code,
        bank_name_kana=bank_name_kana,
        branch_code=branch_code,
        branch_name_kana=branch_name_kana,
        account_type=account_type,
        account_number=account_number,
        records=records,
        line_ending=line_ending,
        with_results=False,
    )


def build_result(
    *,
    originator_code: str,
    originator_name_kana: str,
    debit_date: date,
    bank_code: str,
    bank_name_kana: str,
    branch_code: str,
    branch_name_kana: str,
    account_type: int,
    account_number: str,
    records: list[DebitRecord],
    line_ending: str = "\r\n",
) -> bytes:
    """A result file as the bank returns it: each record's result code and the trailer's debited
    and failed figures filled in. For tests, demos and the benchmark's simulated bank.
    """
    return _build(
        originator_code=originator_code,
        originator_name_kana=originator_name_kana,
        debit_date=debit_date,
        bank_code=bank_code,
        bank_name_kana=bank_name_kana,
        branch_code=branch_code,
        branch_name_kana=branch_name_kana,
        account_type=account_type,
        account_number=account_number,
        records=records,
        line_ending=line_ending,
        with_results=True,
    )


# --- reading ---------------------------------------------------------------------------------


def _split_records(data: bytes) -> list[bytes]:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"a Zengin file is bytes, got {type(data).__name__}")
    # Some transmission software appends the DOS end-of-file mark; a trailing newline is common.
    body = bytes(data).rstrip(b"\x1a").rstrip(b"\r\n")
    if not body:
        raise ValueError("the file is empty")
    if b"\n" in body or b"\r" in body:
        records = [line.removesuffix(b"\r") for line in body.split(b"\n")]
        for number, record in enumerate(records, start=1):
            if len(record) != RECORD_LENGTH:
                raise ValueError(
                    f"record {number}: {len(record)} bytes, a Zengin record has {RECORD_LENGTH}"
                )
        return records
    if len(body) % RECORD_LENGTH:
        raise ValueError(
            f"record {len(body) // RECORD_LENGTH + 1}: {len(body) % RECORD_LENGTH} bytes, a Zengin "
            f"record has {RECORD_LENGTH} (the file has {len(body)} bytes and no line breaks)"
        )
    return [body[i : i + RECORD_LENGTH] for i in range(0, len(body), RECORD_LENGTH)]


def _fields(layout: _Layout, record: bytes, number: int) -> dict[str, str]:
    values = {}
    for name, first, last, kind in layout:
        raw = record[first - 1 : last]
        if kind == "N":
            if not all(0x30 <= byte <= 0x39 for byte in raw):
                raise ValueError(
                    f"record {number}: non-digit in N field {name} (bytes {first}–{last}): {raw!r}"
                )
            values[name] = raw.decode("ascii")
        elif name != "blank":
            try:
                values[name] = raw.decode("cp932").rstrip(" ")
            except UnicodeDecodeError:
                raise ValueError(
                    f"record {number}: {name} (bytes {first}–{last}) is not cp932 text: {raw!r}"
                ) from None
    return values


def _header(record: bytes) -> ZenginHeader:
    values = _fields(HEADER_LAYOUT, record, 1)
    if values["type_code"] != TYPE_CODE_DIRECT_DEBIT:
        raise ValueError(
            f"record 1: type code {values['type_code']} is not 91 (direct debit, 口座振替)"
        )
    if values["code_type"] != CODE_TYPE_JIS:
        raise ValueError(f"record 1: code type {values['code_type']} is not 0 (JIS/cp932)")
    month, day = int(values["debit_date"][:2]), int(values["debit_date"][2:])
    try:
        date(2000, month, day)  # a leap year, so that 0229 is accepted
    except ValueError:
        raise ValueError(f"record 1: debit date {values['debit_date']} is not MMDD") from None
    return ZenginHeader(
        type_code=values["type_code"],
        code_type=values["code_type"],
        originator_code=values["originator_code"],
        originator_name_kana=values["originator_name_kana"],
        debit_date=values["debit_date"],
        bank_code=values["bank_code"],
        bank_name_kana=values["bank_name_kana"],
        branch_code=values["branch_code"],
        branch_name_kana=values["branch_name_kana"],
        account_type=int(values["account_type"]),
        account_number=values["account_number"],
    )


def _data(record: bytes, number: int) -> DebitRecord:
    values = _fields(DATA_LAYOUT, record, number)
    return DebitRecord(
        bank_code=values["bank_code"],
        bank_name_kana=values["bank_name_kana"],
        branch_code=values["branch_code"],
        branch_name_kana=values["branch_name_kana"],
        account_type=int(values["account_type"]),
        account_number=values["account_number"],
        holder_kana=values["holder_kana"],
        amount=int(values["amount"]),
        new_code=int(values["new_code"]),
        customer_number=values["customer_number"],
        result_code=int(values["result_code"]),
    )


def _trailer(record: bytes, number: int) -> ZenginTrailer:
    values = _fields(TRAILER_LAYOUT, record, number)
    return ZenginTrailer(
        **{name: int(value) for name, value in values.items() if name != "data_type"}
    )


_RECORD_NAMES = {
    "1": "header (1)",
    "2": "data record (2)",
    "8": "trailer (8)",
    "9": "end record (9)",
}


def _record_type(record: bytes, number: int) -> str:
    kind = chr(record[0])
    if kind not in _RECORD_NAMES:
        raise ValueError(f"record {number}: unknown record type {record[:1]!r}")
    return kind


def _check_trailer(
    trailer: ZenginTrailer, records: list[DebitRecord], number: int, *, with_results: bool
) -> None:
    debited = [r for r in records if r.result_code == RESULT_DEBITED] if with_results else []
    failed = [r for r in records if r.result_code != RESULT_DEBITED] if with_results else []
    expected = {
        "total count": (trailer.total_count, len(records)),
        "total amount": (trailer.total_amount, sum(r.amount for r in records)),
        "debited count": (trailer.debited_count, len(debited)),
        "debited amount": (trailer.debited_amount, sum(r.amount for r in debited)),
        "failed count": (trailer.failed_count, len(failed)),
        "failed amount": (trailer.failed_amount, sum(r.amount for r in failed)),
    }
    for label, (stated, counted) in expected.items():
        if stated != counted:
            raise ValueError(
                f"record {number} (trailer): {label} is {stated:,} but the data records "
                f"give {counted:,}"
            )


def _parse(data: bytes, *, with_results: bool) -> ZenginFile:
    raw_records = _split_records(data)
    kinds = [_record_type(record, number) for number, record in enumerate(raw_records, start=1)]
    if kinds[0] != "1":
        raise ValueError(
            f"record 1: a file starts with the header (1), found {_RECORD_NAMES[kinds[0]]}"
        )
    header = _header(raw_records[0])

    number = 2  # 1-based, as the error messages count
    records: list[DebitRecord] = []
    while number <= len(kinds) and kinds[number - 1] == "2":
        records.append(_data(raw_records[number - 1], number))
        number += 1
    if number > len(kinds):
        raise ValueError(f"record {number}: the file ends without a trailer (8)")
    if kinds[number - 1] != "8":
        raise ValueError(
            f"record {number}: expected a data record (2) or the trailer (8), found "
            f"{_RECORD_NAMES[kinds[number - 1]]}"
        )
    trailer = _trailer(raw_records[number - 1], number)
    _check_trailer(trailer, records, number, with_results=with_results)

    number += 1
    if number > len(kinds):
        raise ValueError(f"record {number}: the file ends without an end record (9)")
    if kinds[number - 1] != "9":
        raise ValueError(
            f"record {number}: expected the end record (9) after the trailer, found "
            f"{_RECORD_NAMES[kinds[number - 1]]}"
        )
    if number < len(kinds):
        raise ValueError(f"record {number + 1}: nothing may follow the end record (9)")
    return ZenginFile(header=header, records=records, trailer=trailer)


def parse_result(data: bytes) -> ZenginFile:
    """Read a result file from the bank; ``ValueError`` naming the record number if malformed.

    Checks the record order, every N field, and the trailer's counts and totals against the data
    records (debited = result code 0, failed = any other code).
    """
    return _parse(data, with_results=True)


def parse_request(data: bytes) -> ZenginFile:
    """Read back a request file (the trailer's debited and failed figures must be zero)."""
    return _parse(data, with_results=False)
