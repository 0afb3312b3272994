"""Yen and dates in one style per language; the days the city hall is closed, with reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from cityhall.dates import closure_reason, closures_between, holiday_name


def _render(text: str, lang: str, **context) -> str:
    with translation.override(lang):
        return Template("{% load readable %}" + text).render(Context(context))


@pytest.mark.parametrize(
    ("template", "value", "ja", "en"),
    [
        ("{{ v|yen }}", 282000, "282,000円", "282,000 yen"),
        ("{{ v|yen }}", 0, "0円", "0 yen"),
        ("{{ v|yen }}", None, "", ""),
        ("{{ v|day }}", dt.date(2026, 11, 2), "2026年11月2日", "Nov 2, 2026"),
        ("{{ v|day_short }}", dt.date(2026, 12, 3), "12月3日（木）", "Thu, Dec 3"),
        ("{{ v|fiscal_year }}", 2026, "2026年度", "FY2026"),
    ],
)
def test_filters_write_one_style_per_language(template, value, ja, en):
    assert _render(template, "ja", v=value) == ja
    assert _render(template, "en", v=value) == en


def test_a_moment_is_shown_in_tokyo_time():
    moment = dt.datetime(2026, 11, 1, 15, 30, tzinfo=dt.UTC)  # 00:30 on 2 Nov in Tokyo
    assert _render("{{ v|day_time }}", "ja", v=moment) == "2026年11月2日 00:30"


@pytest.mark.parametrize(
    ("day", "ja", "en"),
    [
        (dt.date(2026, 11, 23), "勤労感謝の日", "Labour Thanksgiving Day"),
        (dt.date(2026, 12, 30), "年末年始の休み", "Year-end and New Year break"),
        (dt.date(2027, 1, 1), "年末年始の休み", "Year-end and New Year break"),
        (dt.date(2026, 11, 28), "土曜日", "Saturday"),
        (dt.date(2026, 11, 24), None, None),
    ],
)
def test_closure_reason_in_both_languages(day, ja, en):
    with translation.override("ja"):
        assert closure_reason(day) == ja
    with translation.override("en"):
        assert closure_reason(day) == en


def test_a_substitute_holiday_is_named_after_its_holiday():
    # 2026-05-06 (Wed) replaces 憲法記念日, which fell on a Sunday (祝日法3条2項).
    with translation.override("ja"):
        assert holiday_name(dt.date(2026, 5, 6)) == "憲法記念日の振替休日"
    with translation.override("en"):
        assert holiday_name(dt.date(2026, 5, 6)) == "Substitute holiday for Constitution Day"


def test_closures_list_weekday_holidays_and_the_year_end_break_as_one_entry():
    with translation.override("ja"):
        closures = closures_between(dt.date(2026, 11, 1), dt.date(2027, 1, 15))
    assert closures == [
        (dt.date(2026, 11, 3), dt.date(2026, 11, 3), "文化の日"),
        (dt.date(2026, 11, 23), dt.date(2026, 11, 23), "勤労感謝の日"),
        (dt.date(2026, 12, 29), dt.date(2027, 1, 3), "年末年始の休み"),
        (dt.date(2027, 1, 11), dt.date(2027, 1, 11), "成人の日"),
    ]
