"""Convenience-store collection result files (速報 / 確報) in the agency CSV layout.

One line per payment, one optional header line, 13 fields:

====  =====================================================================
 #    field
====  =====================================================================
 1    record type: 01 速報 (provisional), 02 確報 (final), 03 速報取消 (reversal)
 2    paid date YYYYMMDD
 3    paid time HHMM (the store's clock, Japan time)
 4    "EAN" + the 44-digit barcode read at the till
 5    user field 1
 6    user field 2
 7    stamp flag
 8    amount in yen
 9    store chain code (010, 020, 030 …)
10    store name
11    store code
12    transfer date YYYYMMDD, when the agency pays the money over (02 only)
13    file date YYYYMMDD
====  =====================================================================

A 速報 counts for the resident at once; the 確報 follows with the transfer date; a 03 takes back a
速報 that never became final. This module only reads and writes the lines: matching them to
installments, and comparing the paid amount with the barcode's, is the importer's job.

Agencies send cp932 or UTF-8; UTF-8 (with or without BOM) is tried first because cp932 accepts
most byte sequences and would silently garble a UTF-8 file.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time
from typing import BinaryIO

from payments.formats import gs1

RECORD_TYPES: dict[str, str] = {"01": "速報", "02": "確報", "03": "速報取消"}
PROVISIONAL, FINAL, REVERSAL = "01", "02", "03"
BARCODE_PREFIX = "EAN"
FIELD_COUNT = 13

HEADER = (
    "record_type",
    "paid_date",
    "paid_time",
    "barcode",
    "user1",
    "user2",
    "stamp_flag",
    "amount",
    "store_chain",
    "store_name",
    "store_code",
    "transfer_date",
    "file_date",
)


@dataclass(frozen=True)
class KonbiniRecord:
    """One payment line. ``paid_date`` and ``paid_time`` are separate: the file has no zone."""

    line_no: int
    record_type: str
    paid_date: date
    paid_time: time
    barcode: str
    user1: str
    user2: str
    stamp_flag: int
    amount: int
    store_chain: str
    store_name: str
    store_code: str
    transfer_date: date | None
    file_date: date


def _is_digits(value: str, length: int | None = None) -> bool:
    return (
        bool(value)
        and value.isascii()
        and value.isdigit()
        and (length is None or len(value) == length)
    )


@functools.lru_cache(maxsize=4096)
def _date_or_none(value: str) -> date | None:
    # Cached: a file of a million lines carries a few distinct dates and at most 1,440 times,
    # and building them was a fifth of the parse.
    if _is_digits(value, 8):
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            pass
    return None


def _date(value: str, line_no: int, field: str) -> date:
    if (parsed := _date_or_none(value)) is not None:
        return parsed
    raise ValueError(f"line {line_no}: {field} {value!r} is not a YYYYMMDD date")


@functools.lru_cache(maxsize=4096)
def _time_or_none(value: str) -> time | None:
    if _is_digits(value, 4) and int(value[:2]) < 24 and int(value[2:]) < 60:
        return time(int(value[:2]), int(value[2:]))
    return None


def _time(value: str, line_no: int) -> time:
    if (parsed := _time_or_none(value)) is not None:
        return parsed
    raise ValueError(f"line {line_no}: paid_time {value!r} is not HHMM")


def _checked(fields: list[str], line_no: int) -> tuple:
    """A line's fields, stripped and checked (``ValueError`` naming the line and the field), in
    file order, the barcode without its prefix, dates and time parsed: (record_type, paid_date,
    paid_time, barcode, user1, user2, stamp_flag, amount, store_chain, store_name, store_code,
    transfer_date, file_date). Text fields stay text: the import stages them as they are."""
    if len(fields) != FIELD_COUNT:
        raise ValueError(f"line {line_no}: {len(fields)} fields, expected {FIELD_COUNT}")
    (
        record_type,
        paid_date,
        paid_time,
        barcode,
        user1,
        user2,
        stamp_flag,
        amount,
        store_chain,
        store_name,
        store_code,
        transfer_date,
        file_date,
    ) = map(str.strip, fields)
    if record_type not in RECORD_TYPES:
        raise ValueError(
            f"line {line_no}: record_type {record_type!r} is not 01 (速報), 02 (確報) or 03 (取消)"
        )
    code = barcode.removeprefix(BARCODE_PREFIX)
    try:
        gs1.validate(code)
    except ValueError as error:
        raise ValueError(f"line {line_no}: barcode: {error}") from None
    if not _is_digits(stamp_flag, 1):
        raise ValueError(f"line {line_no}: stamp_flag {stamp_flag!r} is not one digit")
    if not _is_digits(amount):
        raise ValueError(f"line {line_no}: amount {amount!r} is not a whole number of yen")
    if transfer_date:
        transfer = _date(transfer_date, line_no, "transfer_date")
    elif record_type == FINAL:
        raise ValueError(f"line {line_no}: transfer_date is missing on a 確報 (02) line")
    else:
        transfer = None
    return (
        record_type,
        _date(paid_date, line_no, "paid_date"),
        _time(paid_time, line_no),
        code,
        user1,
        user2,
        stamp_flag,
        amount,
        store_chain,
        store_name,
        store_code,
        transfer,
        _date(file_date, line_no, "file_date"),
    )


def _record(fields: list[str], line_no: int) -> KonbiniRecord:
    (
        record_type,
        paid_date,
        paid_time,
        code,
        user1,
        user2,
        stamp_flag,
        amount,
        store_chain,
        store_name,
        store_code,
        transfer,
        file_day,
    ) = _checked(fields, line_no)
    return KonbiniRecord(
        line_no=line_no,
        record_type=record_type,
        paid_date=paid_date,
        paid_time=paid_time,
        barcode=code,
        user1=user1,
        user2=user2,
        stamp_flag=int(stamp_flag),
        amount=int(amount),
        store_chain=store_chain,
        store_name=store_name,
        store_code=store_code,
        transfer_date=transfer,
        file_date=file_day,
    )


_READ_SIZE = 1 << 18


def _encoding(stream: BinaryIO) -> str:
    """The file's encoding, read through once in blocks (the file is never held whole): UTF-8
    (``utf-8-sig`` drops a BOM) if every byte decodes as UTF-8, else cp932 if every byte does."""
    for encoding in ("utf-8-sig", "cp932"):
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            while block := stream.read(_READ_SIZE):
                decoder.decode(block)
                offset += len(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            bad_at = max(0, offset + error.start - len(error.object) + len(block))
            continue
        finally:
            stream.seek(0)
        return encoding
    raise ValueError(f"the file is neither UTF-8 nor cp932 (bad byte at offset {bad_at})")


def parse_result_csv(data: bytes) -> list[KonbiniRecord]:
    """The payment lines of a result file; ``ValueError`` naming the line and field if malformed.

    Blank lines are skipped. The first line is taken as a header when its first field is not a
    number. Every barcode's check digit is verified (:func:`payments.formats.gs1.parse`).
    """
    return list(iter_result_csv(io.BytesIO(data)))


def iter_result_csv(stream: BinaryIO) -> Iterator[KonbiniRecord]:
    """:func:`parse_result_csv` one record at a time from a binary file object, so that a file of
    a million lines is never held whole in memory, as bytes, text or records."""
    for line_no, fields in _iter_lines(stream):
        yield _record(fields, line_no)


def iter_checked_lines(stream: BinaryIO) -> Iterator[tuple]:
    """The payment lines of a result file as :func:`_checked` tuples, with the same checks and
    errors as :func:`iter_result_csv` but no record object per line (the import stages a million
    lines; a frozen dataclass per line was a tenth of its parse time)."""
    for line_no, fields in _iter_lines(stream):
        yield _checked(fields, line_no)


def _iter_lines(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(file line number, fields) of each line that is not blank or the header."""
    encoding = _encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        reader = csv.reader(text)
        first_line = True
        next_line_no = 1
        try:
            for fields in reader:
                # A quoted field may span lines: a record is named by the line it starts on.
                line_no, next_line_no = next_line_no, reader.line_num + 1
                # The first field decides for nearly every line; the rest only when it is blank.
                if not fields or (
                    not fields[0].strip() and not any(field.strip() for field in fields)
                ):
                    continue
                is_header = first_line and not _is_digits(fields[0].strip())
                first_line = False
                if not is_header:
                    yield line_no, fields
        except csv.Error as error:
            raise ValueError(f"line {reader.line_num}: not valid CSV ({error})") from None
    finally:
        # The caller owns the stream: let go of it without closing it.
        text.detach()


def _yyyymmdd(d: date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def build_result_csv(
    records: Iterable[KonbiniRecord], *, header: bool = False, encoding: str = "utf-8"
) -> bytes:
    """A result file in the agency layout, CRLF line ends; :func:`parse_result_csv` reads it back.

    For tests, demos and the benchmark's simulated agency. ``line_no`` is not written.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(HEADER)
    for record in records:
        writer.writerow(
            (
                record.record_type,
                _yyyymmdd(record.paid_date),
                f"{record.paid_time.hour:02d}{record.paid_time.minute:02d}",
                BARCODE_PREFIX + record.barcode,
                record.user1,
                record.user2,
                record.stamp_flag,
                record.amount,
                record.store_chain,
                record.store_name,
                record.store_code,
                _yyyymmdd(record.transfer_date) if record.transfer_date else "",
                _yyyymmdd(record.file_date),
            )
        )
    return buffer.getvalue().encode(encoding)
