from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.formats import zengin
from payments.formats.zengin import DebitRecord

HEADER_ARGUMENTS = {
    "originator_code": "1234567890",
    "originator_name_kana": "マチバシ",
    "debit_date": date(2026, 3, 27),
    "bank_code": "0001",
    "bank_name_kana": "ミズホ",
    "branch_code": "001",
    "branch_name_kana": "ホンテン",
    "account_type": 1,
    "account_number": "1111111",
}


def _records(result_codes=(0, 0, 0)):
    people = [
        ("0001", "ミズホ", "001", "ホンテン", 1, "1234567", "やまだ たろう", 12_300, 1, "20250001"),
        ("0005", "ミツビシユーエフジェイ", "123", "シンジュク", 2, "7654321", "スズキ ハナコ", 5_000, 0,
         "20250002"),
        ("0009", "ミツイスミトモ", "456", "ウメダ", 1, "0000042", "ｷｬｯﾁ ｼｮｳｼﾞ", 987_654, 2, "20250003"),
    ]  # fmt: skip
    return [
        DebitRecord(*person, result_code=code)
        for person, code in zip(people, result_codes, strict=False)
    ]


def _request(**overrides):
    return zengin.build_request(**{**HEADER_ARGUMENTS, "records": _records(), **overrides})


def _result(result_codes=(0, 1, 0), **overrides):
    return zengin.build_result(
        **{**HEADER_ARGUMENTS, "records": _records(result_codes), **overrides}
    )


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[:-1]


def field(record: bytes, first: int, last: int) -> bytes:
    """Bytes ``first``..``last``, 1-based and inclusive as the specification numbers them."""
    return record[first - 1 : last]


def test_request_is_120_byte_records_each_followed_by_crlf():
    data = _request()
    lines = _lines(data)
    assert len(data) == 6 * 122
    assert [len(line) for line in lines] == [120] * 6
    assert [line[:1] for line in lines] == [b"1", b"2", b"2", b"2", b"8", b"9"]


def test_request_without_separators_is_the_same_records_back_to_back():
    assert _request(line_ending="") == b"".join(_lines(_request()))


def test_header_layout():
    header = _lines(_request())[0]
    assert field(header, 1, 1) == b"1"
    assert field(header, 2, 3) == b"91"
    assert field(header, 4, 4) == b"0"
    assert field(header, 5, 14) == b"1234567890"
    assert field(header, 15, 54) == "ﾏﾁﾊﾞｼ".ljust(40).encode("cp932")
    assert field(header, 55, 58) == b"0327"
    assert field(header, 59, 62) == b"0001"
    assert field(header, 63, 77) == "ﾐｽﾞﾎ".ljust(15).encode("cp932")
    assert field(header, 78, 80) == b"001"
    assert field(header, 81, 95) == "ﾎﾝﾃﾝ".ljust(15).encode("cp932")
    assert field(header, 96, 96) == b"1"
    assert field(header, 97, 103) == b"1111111"
    assert field(header, 104, 120) == b" " * 17


def test_data_record_layout():
    record = _lines(_request())[2]
    assert field(record, 1, 1) == b"2"
    assert field(record, 2, 5) == b"0005"
    assert field(record, 6, 20) == "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ".ljust(15).encode("cp932")
    assert field(record, 21, 23) == b"123"
    assert field(record, 24, 38) == "ｼﾝｼﾞﾕｸ".ljust(15).encode("cp932")
    assert field(record, 39, 42) == b"    "
    assert field(record, 43, 43) == b"2"
    assert field(record, 44, 50) == b"7654321"
    assert field(record, 51, 80) == "ｽｽﾞｷ ﾊﾅｺ".ljust(30).encode("cp932")
    assert field(record, 81, 90) == b"0000005000"
    assert field(record, 91, 91) == b"0"
    assert field(record, 92, 111) == b"20250002".ljust(20)
    assert field(record, 112, 112) == b"0"
    assert field(record, 113, 120) == b" " * 8


def test_trailer_and_end_record_layout_with_totals():
    lines = _lines(_request())
    trailer, end = lines[4], lines[5]
    assert field(trailer, 1, 1) == b"8"
    assert field(trailer, 2, 7) == b"000003"
    assert field(trailer, 8, 19) == b"000001004954"  # 12,300 + 5,000 + 987,654
    assert field(trailer, 20, 55) == b"0" * 36  # debited and failed are zero in a request
    assert field(trailer, 56, 120) == b" " * 65
    assert end == b"9" + b" " * 119


def test_result_trailer_counts_debited_and_failed():
    trailer = _lines(_result((0, 1, 0)))[4]
    assert field(trailer, 20, 25) == b"000002"
    assert field(trailer, 26, 37) == b"000000999954"
    assert field(trailer, 38, 43) == b"000001"
    assert field(trailer, 44, 55) == b"000000005000"


@pytest.mark.parametrize(
    "transform",
    [
        lambda data: data,
        lambda data: data.replace(b"\r\n", b""),
        lambda data: data.replace(b"\r\n", b"\n"),
        lambda data: data[:-2],  # no line break after the end record
        lambda data: data + b"\x1a",  # DOS end-of-file mark
    ],
    ids=["crlf", "none", "lf", "no-final-crlf", "eof-mark"],
)
def test_result_file_parses_with_any_separator(transform):
    parsed = zengin.parse_result(transform(_result((0, 1, 9))))
    assert [r.customer_number for r in parsed.records] == ["20250001", "20250002", "20250003"]
    assert [r.amount for r in parsed.records] == [12_300, 5_000, 987_654]
    assert [r.result_code for r in parsed.records] == [0, 1, 9]
    assert parsed.header.debit_date == "0327"
    assert parsed.header.originator_code == "1234567890"
    assert parsed.trailer.failed_amount == 992_654


def test_result_round_trip_returns_normalised_records():
    records = _records((0, 4, 8))
    parsed = zengin.parse_result(
        zengin.build_result(**HEADER_ARGUMENTS, records=records, line_ending="")
    )
    assert parsed.records == [
        dataclasses.replace(
            record,
            bank_name_kana=zengin.to_zengin_kana(record.bank_name_kana),
            branch_name_kana=zengin.to_zengin_kana(record.branch_name_kana),
            holder_kana=zengin.to_zengin_kana(record.holder_kana),
        )
        for record in records
    ]
    assert [r.result_text for r in parsed.records] == [
        "振替済",
        "預金口座振替依頼書なし",
        "委託者の都合による振替停止",
    ]


def test_request_round_trip():
    parsed = zengin.parse_request(_request())
    assert parsed.header == zengin.ZenginHeader(
        type_code="91",
        code_type="0",
        originator_code="1234567890",
        originator_name_kana="ﾏﾁﾊﾞｼ",
        debit_date="0327",
        bank_code="0001",
        bank_name_kana="ﾐｽﾞﾎ",
        branch_code="001",
        branch_name_kana="ﾎﾝﾃﾝ",
        account_type=1,
        account_number="1111111",
    )
    assert parsed.records[2].holder_kana == "ｷﾔﾂﾁ ｼﾖｳｼﾞ"
    assert parsed.trailer == zengin.ZenginTrailer(3, 1_004_954, 0, 0, 0, 0)


def _replace(data: bytes, record_number: int, first: int, new: bytes) -> bytes:
    lines = _lines(data)
    line = lines[record_number - 1]
    lines[record_number - 1] = line[: first - 1] + new + line[first - 1 + len(new) :]
    return b"".join(line + b"\r\n" for line in lines)


@pytest.mark.parametrize(
    ("first", "new", "message"),
    [
        (2, b"000004", "record 5 \\(trailer\\): total count is 4 but the data records give 3"),
        (8, b"000001004955", "record 5 \\(trailer\\): total amount"),
        (20, b"000003", "record 5 \\(trailer\\): debited count is 3 but the data records give 2"),
        (26, b"000000999955", "record 5 \\(trailer\\): debited amount"),
        (38, b"000000", "record 5 \\(trailer\\): failed count"),
        (44, b"000000005001", "record 5 \\(trailer\\): failed amount"),
    ],
)
def test_trailer_mismatch_names_the_trailer_record(first, new, message):
    with pytest.raises(ValueError, match=message):
        zengin.parse_result(_replace(_result((0, 1, 0)), 5, first, new))


def test_request_parser_refuses_debited_figures():
    with pytest.raises(ValueError, match="record 5 \\(trailer\\): debited count"):
        zengin.parse_request(_result((0, 0, 0)))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _replace(d, 3, 81, b"00000050x0"), "record 3: non-digit in N field amount"),
        (lambda d: _replace(d, 2, 112, b" "), "record 2: non-digit in N field result_code"),
        (lambda d: _replace(d, 1, 55, b"1332"), "record 1: debit date 1332"),
        (lambda d: _replace(d, 1, 2, b"21"), "record 1: type code 21"),
        (lambda d: _replace(d, 4, 1, b"7"), "record 4: unknown record type"),
        (
            lambda d: _replace(d, 3, 1, b"1"),
            "record 3: expected a data record \\(2\\) or the trailer",
        ),
        (lambda d: _replace(d, 1, 1, b"2"), "record 1: a file starts with the header"),
        (lambda d: d.replace(b"\r\n9", b"\r\n9 ", 1)[:-1], "record 6: 121 bytes"),
        (lambda d: d[: 4 * 122], "record 5: the file ends without a trailer"),
        (lambda d: d[: 5 * 122], "record 6: the file ends without an end record"),
        (lambda d: d + d[-122:], "record 7: nothing may follow the end record"),
        (lambda d: d.replace(b"\r\n", b"")[:-1], "record 6: 119 bytes"),
        (lambda d: b"", "empty"),
    ],
)
def test_malformed_file_error_names_the_record(damage, message):
    with pytest.raises(ValueError, match=message):
        zengin.parse_result(damage(_result((0, 1, 0))))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("キュウヨ イチロウ", "ｷﾕｳﾖ ｲﾁﾛｳ"),
        ("ジンジ ショウゴ", "ｼﾞﾝｼﾞ ｼﾖｳｺﾞ"),
        ("ｷｬｯﾁ", "ｷﾔﾂﾁ"),
        ("ぱぴぷぺぽ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),
        ("ヴァイオリン", "ｳﾞｱｲｵﾘﾝ"),
        ("ヵヶゎ", "ｶｹﾜ"),
        ("スーパー", "ｽ-ﾊﾟ-"),
        ("（カ）マチバ", "(ｶ)ﾏﾁﾊﾞ"),
        ("ｶ)ﾏﾁﾊﾞ", "ｶ)ﾏﾁﾊﾞ"),
        ("abc xyz", "ABC XYZ"),
        ("ＡＢＣ１２３", "ABC123"),
        ("ｍａｃｈｉｂａ", "MACHIBA"),
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("カ\u3099", "ｶﾞ"),  # decomposed dakuten, as macOS writes it
        ("0-1./()", "0-1./()"),
        ("", ""),
    ],
)
def test_kana_normalisation(raw, normalised):
    assert zengin.to_zengin_kana(raw) == normalised
    # One byte a character in cp932, so a field's width in characters is its width in bytes.
    assert len(normalised.encode("cp932")) == len(normalised)


@pytest.mark.parametrize(
    ("raw", "offender"),
    [
        ("山田 タロウ", "'山'"),
        ("ヲサダ", "'ヲ'"),
        ("ヤマダ、タロウ", "'、'"),
        ("A&B", "'&'"),
        ("ヤマダ,タロウ", "','"),
        ("STRAßE", "'ß'"),
        ("ヤマダ・タロウ", "'・'"),
        ("タロウ😀", "'😀'"),
    ],
)
def test_kana_normalisation_names_the_offending_character(raw, offender):
    with pytest.raises(ValueError, match=offender):
        zengin.to_zengin_kana(raw)


def test_build_refuses_a_kanji_holder_naming_the_record():
    records = _records()
    records[1] = dataclasses.replace(records[1], holder_kana="鈴木 花子")
    with pytest.raises(ValueError, match="record 3 .*holder_kana.*'鈴'"):
        zengin.build_request(**HEADER_ARGUMENTS, records=records)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10**10}, "amount"),
        ({"customer_number": "1" * 21}, "customer_number"),
        ({"customer_number": "２０２５"}, "customer_number"),
        ({"account_type": 3}, "account_type"),
        ({"new_code": 3}, "new_code"),
        ({"account_number": "12345678"}, "account_number"),
        ({"bank_code": "12a4"}, "bank_code"),
        ({"result_code": 1}, "result code 0"),
    ],
)
def test_build_refuses_values_that_do_not_fit(change, message):
    records = _records()
    records[0] = dataclasses.replace(records[0], **change)
    with pytest.raises(ValueError, match=f"record 2.*{message}"):
        zengin.build_request(**HEADER_ARGUMENTS, records=records)


def test_long_holder_name_is_cut_to_its_field():
    records = _records()
    records[0] = dataclasses.replace(records[0], holder_kana="ア" * 35)
    parsed = zengin.parse_request(zengin.build_request(**HEADER_ARGUMENTS, records=records))
    assert parsed.records[0].holder_kana == "ｱ" * 30


@pytest.mark.parametrize(
    ("mmdd", "reference", "expected"),
    [
        ("0327", date(2026, 4, 2), date(2026, 3, 27)),
        ("1227", date(2027, 1, 5), date(2026, 12, 27)),
        ("0105", date(2026, 12, 20), date(2027, 1, 5)),
        ("0229", date(2028, 3, 3), date(2028, 2, 29)),
    ],
)
def test_debit_date_is_placed_in_the_nearest_year(mmdd, reference, expected):
    header = dataclasses.replace(zengin.parse_request(_request()).header, debit_date=mmdd)
    assert header.debit_date_near(reference) == expected


def test_result_codes_have_japanese_meanings():
    assert sorted(zengin.RESULT_CODES) == [0, 1, 2, 3, 4, 8, 9]
    assert zengin.RESULT_CODES[0] == "振替済"
    assert zengin.RESULT_CODES[1] == "資金不足"


def _only_value_errors(data: bytes) -> None:
    try:
        zengin.parse_result(data)
    except ValueError:
        pass


# No per-example deadline: on a shared two-core machine a wall-clock limit measures the
# neighbours, not the parser.
@settings(deadline=None)
@given(st.binary(max_size=800))
def test_parse_raises_only_value_error_on_arbitrary_bytes(data):
    _only_value_errors(data)


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=6 * 122 - 1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([b"\r\n", b"\n", b""]),
)
def test_parse_raises_only_value_error_on_damaged_files(damage, separator):
    data = bytearray(_result((0, 1, 0)).replace(b"\r\n", separator))
    for position, byte in damage:
        if position < len(data):
            data[position] = byte
    _only_value_errors(bytes(data))
