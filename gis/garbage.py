"""Garbage collection calendars: day tokens as municipalities publish them, and iCalendar export.

Japanese open data (ごみ収集カレンダー) gives each district and garbage kind a string of tokens:
「月 木」 every Monday and Thursday, 「火2 火4」 the 2nd and 4th Tuesday of each month, or
explicit dates 「2026-12-07 2027-01-11」 for kinds collected irregularly. FORMATS.md §7.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

WEEKDAYS = "月火水木金土日"  # index = date.weekday()

_TOKEN_SEPARATORS = re.compile(r"[\s、,・]+")
_WEEKLY = re.compile(rf"(?P<weekday>[{WEEKDAYS}])(?:曜日?)?")
_MONTHLY = re.compile(rf"(?P<weekday>[{WEEKDAYS}])(?:曜日?)?(?P<nth>[1-5])")
_EXPLICIT = re.compile(r"(?P<year>[0-9]{4})[-/](?P<month>[0-9]{1,2})[-/](?P<day>[0-9]{1,2})")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９－／", "0123456789-/")


def _is_new_year_holiday(day: date) -> bool:
    # 年末年始: municipal offices and collection stop from 31 Dec to 3 Jan.
    return (day.month, day.day) == (12, 31) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class Rule:
    """When one garbage kind is collected in one district.

    `weekly` holds weekdays (Monday = 0), `monthly` (weekday, nth) pairs, `dates` explicit dates.
    """

    weekly: frozenset[int] = field(default_factory=frozenset)
    monthly: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    dates: frozenset[date] = field(default_factory=frozenset)

    def is_collection_day(self, day: date, *, skip_new_year: bool = True) -> bool:
        if day in self.dates:
            # An explicit date is the municipality's own decision, holidays considered.
            return True
        if skip_new_year and _is_new_year_holiday(day):
            return False
        nth = (day.day - 1) // 7 + 1
        return day.weekday() in self.weekly or (day.weekday(), nth) in self.monthly

    def dates_between(self, start: date, end: date, *, skip_new_year: bool = True) -> list[date]:
        """Collection dates from `start` to `end`, both included, in order."""
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        return [day for day in days if self.is_collection_day(day, skip_new_year=skip_new_year)]

    def next_dates(self, after: date, n: int, *, skip_new_year: bool = True) -> list[date]:
        """The next `n` collection dates strictly after `after`.

        Fewer than `n` when the rule has only explicit dates and runs out of them.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        last_explicit = max(self.dates, default=date.min)
        recurring = bool(self.weekly or self.monthly)
        found: list[date] = []
        day = after
        while len(found) < n and (recurring or day < last_explicit):
            day += timedelta(days=1)
            if self.is_collection_day(day, skip_new_year=skip_new_year):
                found.append(day)
        return found


def _bad_token(token: str) -> ValueError:
    return ValueError(
        f"収集日の指定「{token}」を読み取れません / Cannot read the collection-day token {token!r}"
    )


def parse_rule(tokens: str) -> Rule:
    """Parse day tokens such as 「月 木」, 「火2 火4」 or 「2026-12-07 2027-01-11」, mixed freely.

    Tokens are separated by spaces (ASCII or full-width), 、 , or ・ (「月・木」 is common).
    Raises ValueError naming the first token it cannot read.
    """
    weekly: set[int] = set()
    monthly: set[tuple[int, int]] = set()
    dates: set[date] = set()
    for token in _TOKEN_SEPARATORS.split(tokens.translate(_FULL_WIDTH).strip()):
        if not token:
            continue
        if match := _WEEKLY.fullmatch(token):
            weekly.add(WEEKDAYS.index(match["weekday"]))
        elif match := _MONTHLY.fullmatch(token):
            monthly.add((WEEKDAYS.index(match["weekday"]), int(match["nth"])))
        elif match := _EXPLICIT.fullmatch(token):
            try:
                dates.add(date(int(match["year"]), int(match["month"]), int(match["day"])))
            except ValueError:
                raise _bad_token(token) from None
        else:
            raise _bad_token(token)
    if not (weekly or monthly or dates):
        raise ValueError("収集日が指定されていません / No collection days are given")
    return Rule(frozenset(weekly), frozenset(monthly), frozenset(dates))


_WEEKDAY_NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n, 'th') }"


def _and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_rule(rule: Rule, *, lang: str = "ja") -> str:
    """The collection days in words: 「毎週月曜日・木曜日」, 「第1・第3火曜日」 or
    "Every Monday and Thursday", "1st and 3rd Tuesday"; explicit dates as 「12月7日」 / "Dec 7"."""
    english = lang.startswith("en")
    parts: list[str] = []
    weekly = sorted(rule.weekly)
    if weekly:
        if english:
            parts.append("every " + _and([_WEEKDAY_NAMES_EN[d] for d in weekly]))
        else:
            parts.append("毎週" + "・".join(f"{WEEKDAYS[d]}曜日" for d in weekly))
    by_weekday: dict[int, list[int]] = {}
    for weekday, nth in sorted(rule.monthly):
        by_weekday.setdefault(weekday, []).append(nth)
    for weekday, nths in by_weekday.items():
        if english:
            parts.append(_and([_ordinal(n) for n in nths]) + " " + _WEEKDAY_NAMES_EN[weekday])
        else:
            parts.append("・".join(f"第{n}" for n in nths) + f"{WEEKDAYS[weekday]}曜日")
    dates = sorted(rule.dates)
    if dates:
        if english:
            parts.append(", ".join(f"{_MONTHS_EN[d.month - 1]} {d.day}" for d in dates))
        else:
            parts.append("、".join(f"{d.month}月{d.day}日" for d in dates))
    text = ("; " if english else "、").join(parts)
    return text[:1].upper() + text[1:] if english else text


def _escape_text(value: str) -> str:
    # RFC 5545 §3.3.11: backslash first, so the escapes added after it stay single.
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    pieces: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            pieces.append(current)
            # Continuation lines start with one space, which counts towards their 75 octets.
            current, size = " ", 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)


def _uid(day: date, summary: str, calendar_name: str, uid_domain: str) -> str:
    # Stable across exports so that subscribed calendars update events instead of duplicating
    # them; the calendar name keeps two districts' identical events apart.
    digest = hashlib.sha256(f"{calendar_name}\n{day.isoformat()}\n{summary}".encode()).hexdigest()
    return f"{digest[:32]}@{uid_domain}"


def to_ical(
    events: Iterable[tuple[date, str]],
    *,
    calendar_name: str,
    uid_domain: str,
    dtstamp: datetime,
) -> str:
    """Return an RFC 5545 VCALENDAR of all-day events, with CRLF line endings.

    `dtstamp` must be timezone-aware; it is written in UTC, and passing a fixed value (such as
    the time the calendar data last changed) makes the output byte-for-byte reproducible.
    Events are sorted, and repeated (date, summary) pairs are written once.
    """
    if dtstamp.tzinfo is None or dtstamp.utcoffset() is None:
        raise ValueError("dtstamp must be timezone-aware")
    stamp = dtstamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Machiba//Garbage calendar//JA",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{_escape_text(calendar_name)}",
        # The RFC 7986 NAME above is newer than most clients; they read this one.
        f"X-WR-CALNAME:{_escape_text(calendar_name)}",
    ]
    for day, summary in sorted(set(events)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uid(day, summary, calendar_name, uid_domain)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape_text(summary)}",
            # A collection day does not make the resident busy.
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
