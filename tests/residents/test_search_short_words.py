"""Short words (one or two characters: 佐藤, 林, はな) at a city's size.

A trigram index cannot answer a word with no trigram, so before the pieces index such a search
read every resident. The answers must stay those of the plain "contains" rule.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.db.models import Q

from cityhall.japanese import normalize_name, search_key
from cityhall.seeding import SeedContext
from residents.models import Resident
from residents.seed import create_demo_residents
from residents.selectors import search_residents

pytestmark = pytest.mark.django_db


@pytest.fixture
def register():
    create_demo_residents(SeedContext(residents=800, parcels=0, stdout=io.StringIO()), 800)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE residents_resident")
    return list(Resident.objects.order_by("id")[:40])


def _short_words(residents) -> list[str]:
    words = set()
    for resident in residents:
        words.add(resident.family_name[:2])
        words.add(resident.given_name[-1])
        words.add(resident.family_name_kana[1:3])
        hiragana = "".join(chr(ord(c) - 0x60) for c in resident.given_name_kana[:2])
        words.add(hiragana)
    return sorted(words)


def _contains_rule(query: str) -> set[int]:
    """The search's rule written plainly: each word in the name or the reading."""
    qs = Resident.objects.filter(status=Resident.Status.CURRENT)
    for word in normalize_name(query).split(" "):
        qs = qs.filter(Q(search_name__contains=word) | Q(search_kana__contains=search_key(word)))
    return set(qs.values_list("id", flat=True))


def test_short_words_find_exactly_what_contains_finds(register):
    words = _short_words(register)
    assert len(words) > 40
    for word in words:
        expected = _contains_rule(word)
        assert expected, word
        assert {r.pk for r in search_residents(word, limit=100_000)} == expected, word
    pair = f"{register[0].family_name[:2]} {register[0].given_name[:1]}"
    found = {r.pk for r in search_residents(pair, limit=100_000)}
    assert register[0].pk in found and found == _contains_rule(pair)


def _plan(query: str) -> str:
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        search_residents(query)
    sql, params = captured[-1]
    with connection.cursor() as cursor:
        # The test register is small, where reading it whole is cheapest; at a city's size the
        # planner makes the same choice as here with sequential scans priced out.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


def test_a_two_character_name_is_found_through_the_pieces_index(register):
    family = next(r.family_name for r in register if len(r.family_name) == 2)
    plan = _plan(family)
    assert "resident_short_grams" in plan, plan
    hiragana = "".join(chr(ord(c) - 0x60) for c in register[0].given_name_kana[:2])
    assert "resident_short_grams" in _plan(hiragana)
    # Longer words keep the trigram indexes.
    kana = next(r.family_name_kana for r in register if len(r.family_name_kana) >= 3)
    assert "resident_name_trgm" in _plan(kana)
