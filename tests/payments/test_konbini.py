from __future__ import annotations

import dataclasses
from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.formats import gs1, konbini
from payments.formats.konbini import KonbiniRecord

CODE = "91912345012025000000000123456026033100123006"


def _record(line_no=1, **overrides):
    values = {
        "line_no": line_no,
        "record_type": "01",
        "paid_date": date(2026, 3, 30),
        "paid_time": time(18, 45),
        "barcode": CODE,
        "user1": "",
        "user2": "",
        "stamp_flag": 0,
        "amount": 12_300,
        "store_chain": "010",
        "store_name": "セブン-イレブン 丸の内店",
        "store_code": "123456",
        "transfer_date": None,
        "file_date": date(2026, 3, 31),
    }
    return KonbiniRecord(**{**values, **overrides})


RECORDS = [
    _record(1),
    _record(
        2,
        record_type="02",
        transfer_date=date(2026, 4, 10),
        file_date=date(2026, 4, 3),
        store_name="ローソン, 本町店",  # a comma: the field is quoted
    ),
    _record(3, record_type="03", paid_time=time(0, 5), user1="A-1", user2="メモ"),
]

LINE = "01,20260330,1845,EAN91912345012025000000000123456026033100123006,,,0,12300,010,ファミリーマート 本町店,654321,,20260331"


def test_round_trip():
    assert konbini.parse_result_csv(konbini.build_result_csv(RECORDS)) == RECORDS


def test_round_trip_in_cp932():
    data = konbini.build_result_csv(RECORDS, encoding="cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert konbini.parse_result_csv(data) == RECORDS


def test_written_line_layout():
    data = konbini.build_result_csv([RECORDS[1]])
    assert (
        data
        == (
            "02,20260330,1845,EAN91912345012025000000000123456026033100123006,,,0,12300,010,"
            '"ローソン, 本町店",123456,20260410,20260403\r\n'
        ).encode()
    )


def test_header_line_is_optional():
    with_header = konbini.parse_result_csv(konbini.build_result_csv(RECORDS, header=True))
    assert with_header == [dataclasses.replace(r, line_no=r.line_no + 1) for r in RECORDS]
    japanese_header = "種別,入金日,時刻,バーコード,1,2,印紙,金額,チェーン,店名,店,振込日,作成日\n"
    parsed = konbini.parse_result_csv((japanese_header + LINE + "\n").encode("cp932"))
    assert [(r.line_no, r.barcode, r.store_name) for r in parsed] == [
        (2, CODE, "ファミリーマート 本町店")
    ]


def test_single_line_with_bom_and_lf():
    (record,) = konbini.parse_result_csv(("\ufeff" + LINE + "\n\n").encode())
    assert record == _record(
        store_name="ファミリーマート 本町店", store_code="654321", file_date=date(2026, 3, 31)
    )
    assert record.paid_date == date(2026, 3, 30) and record.paid_time == time(18, 45)


def test_bad_check_digit_error_names_the_line():
    damaged = CODE[:-1] + "7"
    data = konbini.build_result_csv(RECORDS).replace(CODE.encode(), damaged.encode())
    data = konbini.build_result_csv(RECORDS[:2]) + data.split(b"\r\n")[2] + b"\r\n"
    with pytest.raises(ValueError, match="line 3: barcode: check digit"):
        konbini.parse_result_csv(data)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (LINE.replace("01,", "04,", 1), "line 2: record_type '04'"),
        (LINE.replace("20260330", "20261330"), "line 2: paid_date '20261330'"),
        (LINE.replace(",1845,", ",2460,"), "line 2: paid_time '2460'"),
        (LINE.replace(",12300,", ",12.300,"), "line 2: amount '12.300'"),
        (LINE.replace(",0,12300", ",x,12300"), "line 2: stamp_flag"),
        (LINE.replace(",20260331", ",2026-03-31"), "line 2: file_date"),
        (LINE.replace("01,", "02,", 1), "line 2: transfer_date is missing"),
        (LINE.replace(",,20260331", ",20260231,20260331"), "line 2: transfer_date '20260231'"),
        (LINE.replace("EAN9191", "EAN9199"), "line 2: barcode"),
        (LINE.rsplit(",", 1)[0], "line 2: 12 fields, expected 13"),
        (LINE + ",extra", "line 2: 14 fields"),
    ],
)
def test_malformed_line_error_names_line_and_field(line, message):
    data = f"{LINE}\r\n{line}\r\n".encode()
    with pytest.raises(ValueError, match=message):
        konbini.parse_result_csv(data)


def test_record_spanning_lines_is_named_by_its_first_line():
    spanning = LINE.replace("ファミリーマート 本町店", '"ファミリーマート\n本町店"')
    bad = spanning.replace(",12300,", ",12.300,")
    text = f"{spanning}\n{bad}\n01,bad\n"
    with pytest.raises(ValueError, match="line 3: amount"):
        konbini.parse_result_csv(text.encode())
    (record,) = konbini.parse_result_csv(spanning.encode())
    assert record.store_name == "ファミリーマート\n本町店"


def test_neither_utf8_nor_cp932_is_refused():
    with pytest.raises(ValueError, match="neither UTF-8 nor cp932"):
        konbini.parse_result_csv(b"01,\x81\x20\xff\n")


def test_empty_file_has_no_records():
    assert konbini.parse_result_csv(b"") == []


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=12
)


@given(
    st.lists(
        st.builds(
            _record,
            record_type=st.sampled_from(["01", "02", "03"]),
            paid_date=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
            paid_time=st.times().map(lambda t: time(t.hour, t.minute)),
            barcode=st.builds(
                gs1.build,
                biller_code=st.from_regex(r"\A[0-9]{6}\Z"),
                revenue_code=st.just("01"),
                fiscal_year=st.integers(2000, 2099),
                installment_key=st.integers(0, 10**15 - 1),
                deadline=st.none(),
                amount=st.integers(1, 999_999),
            ),
            user1=_text,
            user2=_text,
            amount=st.integers(0, 999_999),
            store_name=_text,
            store_code=st.from_regex(r"\A[0-9]{0,8}\Z"),
            transfer_date=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
        ),
        max_size=5,
    ),
    st.booleans(),
)
def test_round_trip_property(records, header):
    records = [dataclasses.replace(r, line_no=i + 1 + header) for i, r in enumerate(records)]
    data = konbini.build_result_csv(records, header=header)
    assert konbini.parse_result_csv(data) == records


@given(st.binary(max_size=600))
def test_parse_raises_only_value_error_on_arbitrary_bytes(data):
    try:
        konbini.parse_result_csv(data)
    except ValueError:
        pass


@given(st.lists(st.text(alphabet='0123456789,EAN"\r\n x', max_size=80), max_size=4))
def test_parse_raises_only_value_error_on_csv_like_text(lines):
    try:
        konbini.parse_result_csv((LINE + "\n" + "\n".join(lines)).encode())
    except ValueError:
        pass
