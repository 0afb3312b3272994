from __future__ import annotations

from datetime import date

import pytest
from factories_residents import move_in

from residents.selectors import search_residents

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    sato = move_in(
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        birth_date=date(1990, 2, 3),
        address="緑町1丁目2番3号",
    )
    suzuki = move_in(
        family_name="鈴木",
        given_name="一郎",
        family_name_kana="スズキ",
        given_name_kana="イチロウ",
        birth_date=date(1975, 10, 10),
        address="本町2丁目4番6号",
    )
    return sato, suzuki


@pytest.mark.parametrize(
    "query", ["サトウ", "ｻﾄｳ", "さとう", "ｻﾄｳ ﾊﾅｺ", "サトウ　ハナコ", "ハナ", "ﾊﾅ"]
)
def test_kana_search_finds_half_and_full_width_input(people, query):
    sato, _suzuki = people
    assert search_residents(query) == [sato]


@pytest.mark.parametrize("query", ["佐藤", "藤 花", "佐藤　花子", "花子"])
def test_kanji_search_is_partial(people, query):
    assert [r.family_name for r in search_residents(query)] == ["佐藤"]


def test_search_by_resident_code_birth_date_and_address(people):
    sato, suzuki = people
    assert search_residents(suzuki.resident_code) == [suzuki]
    assert search_residents("", birth_date=date(1990, 2, 3)) == [sato]
    assert search_residents("", address="本町2-4") == [suzuki]
    assert search_residents("", address="本町二丁目") == [suzuki]


def test_an_empty_search_returns_nobody(people):
    assert search_residents("") == []
    assert search_residents("タナカ") == []
