from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.garbage import Rule, parse_rule, to_ical

JST = timezone(timedelta(hours=9))
DTSTAMP = datetime(2026, 4, 1, 9, 0, tzinfo=JST)


def test_monday_and_thursday_every_week():
    rule = parse_rule("月 木")
    assert rule.dates_between(date(2026, 3, 1), date(2026, 3, 31)) == [
        date(2026, 3, d) for d in (2, 5, 9, 12, 16, 19, 23, 26, 30)
    ]


def test_second_and_fourth_tuesday():
    rule = parse_rule("火2 火4")
    assert rule.dates_between(date(2026, 12, 1), date(2026, 12, 31)) == [
        date(2026, 12, 8),
        date(2026, 12, 22),
    ]


@pytest.mark.parametrize(
    "tokens",
    ["月 木", "月　木", "月・木", "月、木", " 月曜  木曜日 ", "木 月 月"],
)
def test_separators_and_weekday_spellings_give_the_same_rule(tokens):
    assert parse_rule(tokens) == Rule(weekly=frozenset({0, 3}))


def test_full_width_digits_in_tokens_are_read():
    assert parse_rule("火２ ２０２６－１２－０７") == parse_rule("火2 2026-12-07")


def test_explicit_dates_and_mixed_tokens():
    rule = parse_rule("2026-12-07 2027-01-11 水4")
    assert rule.dates_between(date(2026, 12, 1), date(2027, 1, 31)) == [
        date(2026, 12, 7),
        date(2026, 12, 23),
        date(2027, 1, 11),
        date(2027, 1, 27),
    ]


def test_collection_stops_from_31_december_to_3_january():
    rule = parse_rule("月 木 金")
    start, end = date(2026, 12, 28), date(2027, 1, 8)
    assert rule.dates_between(start, end) == [
        date(2026, 12, 28),
        date(2027, 1, 4),
        date(2027, 1, 7),
        date(2027, 1, 8),
    ]
    assert rule.dates_between(start, end, skip_new_year=False) == [
        date(2026, 12, 28),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 4),
        date(2027, 1, 7),
        date(2027, 1, 8),
    ]


def test_the_new_year_break_is_exactly_31_december_to_3_january():
    every_day = parse_rule("月 火 水 木 金 土 日")
    assert every_day.dates_between(date(2026, 12, 29), date(2027, 1, 5)) == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]


def test_an_explicit_date_in_the_new_year_break_is_kept():
    # The municipality chose that date knowing the holidays.
    assert parse_rule("2027-01-02").dates_between(date(2027, 1, 1), date(2027, 1, 3)) == [
        date(2027, 1, 2)
    ]


def test_next_dates_are_strictly_after_and_skip_the_new_year():
    rule = parse_rule("木")
    # 2026-12-24 is itself a Thursday, and 12-31 falls in the new-year break.
    assert rule.next_dates(date(2026, 12, 24), 3) == [
        date(2027, 1, 7),
        date(2027, 1, 14),
        date(2027, 1, 21),
    ]
    assert rule.next_dates(date(2026, 12, 24), 1, skip_new_year=False) == [date(2026, 12, 31)]
    assert rule.next_dates(date(2026, 12, 24), 0) == []


def test_next_dates_run_out_with_explicit_dates_only():
    rule = parse_rule("2026-12-07 2027-01-11")
    assert rule.next_dates(date(2026, 12, 7), 5) == [date(2027, 1, 11)]
    assert rule.next_dates(date(2027, 1, 11), 5) == []


@pytest.mark.parametrize(
    ("tokens", "bad"),
    [
        ("月 X", "X"),
        ("火6", "火6"),
        ("火0", "火0"),
        ("2026-02-30", "2026-02-30"),
        ("月 2026-13-01 木", "2026-13-01"),
        ("毎週月", "毎週月"),
    ],
)
def test_bad_token_is_named_in_both_languages(tokens, bad):
    with pytest.raises(ValueError) as excinfo:
        parse_rule(tokens)
    message = str(excinfo.value)
    assert f"「{bad}」" in message
    assert "Cannot read" in message


@pytest.mark.parametrize("tokens", ["", "  ", "　"])
def test_no_tokens_is_an_error(tokens):
    with pytest.raises(ValueError, match="No collection days"):
        parse_rule(tokens)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from("月火水木金土日"),
    st.integers(min_value=1, max_value=5),
)
def test_nth_weekday_falls_in_its_week_of_the_month(start, weekday, nth):
    rule = parse_rule(f"{weekday}{nth}")
    for day in rule.dates_between(start, start + timedelta(days=62), skip_new_year=False):
        assert "月火水木金土日"[day.weekday()] == weekday
        assert 7 * (nth - 1) < day.day <= 7 * nth


def _unfold(ical: str) -> list[str]:
    """The content lines of an iCalendar text, continuation lines joined (RFC 5545 §3.1)."""
    assert ical.endswith("\r\n")
    physical = ical[: -len("\r\n")].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical), "bare CR or LF"
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def _components(lines: list[str]) -> list[dict[str, str]]:
    """Check BEGIN/END balance and return each VEVENT's properties by name."""
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for line in lines:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack and stack.pop() == value, f"unbalanced END:{value}"
        elif stack and stack[-1] == "VEVENT":
            events[-1][name] = value
    assert stack == []
    return events


def _ical_date(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _ical(events, **kwargs):
    options = {"calendar_name": "本町1区 ごみ", "uid_domain": "machiba.example.jp"}
    return to_ical(events, **(options | kwargs), dtstamp=DTSTAMP)


def test_ical_output_is_well_formed():
    rule = parse_rule("月 木")
    events = [
        (day, "燃やすごみ") for day in rule.dates_between(date(2026, 12, 1), date(2027, 1, 31))
    ]
    events.append((date(2026, 12, 8), "資源ごみ（びん・缶、ペットボトル；古紙）" * 3))
    ical = _ical(events)

    assert all(len(line.encode()) <= 75 for line in ical.split("\r\n"))
    lines = _unfold(ical)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)

    vevents = _components(lines)
    assert len(vevents) == len(events)
    for vevent in vevents:
        assert {"UID", "DTSTAMP", "DTSTART;VALUE=DATE", "DTEND;VALUE=DATE", "SUMMARY"} <= set(
            vevent
        )
        start = _ical_date(vevent["DTSTART;VALUE=DATE"])
        end = _ical_date(vevent["DTEND;VALUE=DATE"])
        assert end == start + timedelta(days=1)
        assert vevent["DTSTAMP"] == "20260401T000000Z"
        assert vevent["UID"].endswith("@machiba.example.jp")
    assert len({vevent["UID"] for vevent in vevents}) == len(vevents)
    assert "20261231" not in {vevent["DTSTART;VALUE=DATE"] for vevent in vevents}


def test_ical_escapes_text_and_folds_without_splitting_characters():
    summary = "びん, 缶; ペットボトル\\古紙\n(月2回)" + "あ" * 40
    ical = _ical([(date(2026, 12, 8), summary)], calendar_name="本町, 1区")
    lines = _unfold(ical)
    assert "SUMMARY:びん\\, 缶\\; ペットボトル\\\\古紙\\n(月2回)" + "あ" * 40 in lines
    assert "X-WR-CALNAME:本町\\, 1区" in lines
    # Every physical line decodes on its own: no UTF-8 sequence was cut by the folding.
    for physical in ical.encode().split(b"\r\n"):
        physical.decode()
        assert len(physical) <= 75


def _uids(ical: str) -> dict[tuple[str, str], str]:
    return {
        (vevent["DTSTART;VALUE=DATE"], vevent["SUMMARY"]): vevent["UID"]
        for vevent in _components(_unfold(ical))
    }


def test_ical_is_reproducible_and_uids_are_stable():
    burnable, recyclable = (date(2026, 12, 8), "燃やすごみ"), (date(2026, 12, 7), "資源ごみ")
    first = _ical([burnable, recyclable])
    assert _ical([recyclable, burnable, burnable]) == first

    uids = _uids(first)
    assert _uids(_ical([burnable]))[("20261208", "燃やすごみ")] == uids[("20261208", "燃やすごみ")]
    assert set(uids.values()).isdisjoint(
        _uids(_ical([(date(2026, 12, 8), "燃えないごみ")])).values()
    )
    assert set(uids.values()).isdisjoint(_uids(_ical([(date(2026, 12, 9), "燃やすごみ")])).values())
    # Two districts' calendars may both have burnable garbage on the same day.
    assert set(uids.values()).isdisjoint(_uids(_ical([burnable], calendar_name="本町2区")).values())


def test_ical_refuses_a_naive_dtstamp():
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ical(
            [(date(2026, 12, 8), "燃やすごみ")],
            calendar_name="本町",
            uid_domain="machiba.example.jp",
            dtstamp=datetime(2026, 4, 1, 9, 0),  # noqa: DTZ001 - naive on purpose
        )
