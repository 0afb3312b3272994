"""The draw itself (facilities/draw.py, pure): reproducible from the seed and the entries,
within the caps, by tier, and the 第2希望 drawn only when the 第1希望 lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from facilities import draw
from facilities.draw import Entry

SEED = "00" * 31 + "2a"
SCRIPT = Path(draw.__file__)


def run(entries, *, slots, max_wins=2, seed=SEED, unavailable=()):
    document = draw.entries_document(
        round_code="2026-06", max_wins=max_wins, slots=slots, entries=entries
    )
    digest = draw.sha256_hex(draw.canonical_bytes(document))
    winners = draw.draw(
        draw.entries_from_document(document),
        seed_hex=seed,
        entries_sha256=digest,
        max_wins=max_wins,
        slots=slots,
        unavailable=unavailable,
    )
    return document, digest, winners


def test_the_same_seed_and_entries_give_the_same_winners_and_another_seed_others():
    slots = [f"s{i}" for i in range(10)]
    entries = [Entry(f"E{i:03d}", f"A-{i:03d}", 1, (f"s{i % 10}",)) for i in range(60)]
    _doc, _digest, first = run(entries, slots=slots)
    _doc, _digest, again = run(list(reversed(entries)), slots=slots)
    _doc, _digest, other = run(entries, slots=slots, seed="11" * 32)
    assert first == again  # input order does not matter: the file is canonical
    assert len(first) == 10
    assert first != other


def test_a_lower_tier_never_wins_a_slot_a_higher_tier_wanted_first():
    slots = ["hall-am"]
    entries = [Entry(f"E{i:03d}", f"A-{i:03d}", 2, ("hall-am",)) for i in range(50)]
    entries.append(Entry("E999", "A-city", 1, ("hall-am",)))
    for seed in ("01" * 32, "02" * 32, "03" * 32):
        _doc, _digest, winners = run(entries, slots=slots, seed=seed)
        assert [(w.slot, w.entry) for w in winners] == [("hall-am", "E999")]


def test_the_second_choice_is_drawn_only_after_every_first_choice():
    # E1's first choice is B, which nobody else wants; its second is A. E2 wants A first.
    # E1 must win B (its first), leaving A to E2 whatever the lots say.
    entries = [Entry("E1", "A-1", 1, ("B", "A")), Entry("E2", "A-2", 1, ("A",))]
    for n in range(20):
        _doc, _digest, winners = run(entries, slots=["A", "B"], seed=f"{n:064x}")
        assert {(w.entry, w.slot, w.rank) for w in winners} == {("E1", "B", 1), ("E2", "A", 1)}
    # Two entries want A first; the loser's second choice C is drawn in the second pass.
    entries = [Entry("E1", "A-1", 1, ("A", "C")), Entry("E2", "A-2", 1, ("A", "C"))]
    _doc, _digest, winners = run(entries, slots=["A", "C"])
    assert sorted((w.slot, w.rank) for w in winners) == [("A", 1), ("C", 2)]


def test_an_applicant_wins_no_more_than_the_cap_and_unavailable_slots_go_to_nobody():
    slots = [f"s{i}" for i in range(10)]
    greedy = [Entry(f"E{i}", "A-greedy", 1, (f"s{i}",)) for i in range(10)]
    _doc, _digest, winners = run(greedy, slots=slots, max_wins=2, unavailable=["s0"])
    assert len(winners) == 2
    assert "s0" not in {w.slot for w in winners}


@st.composite
def lotteries(draw_):
    slot_count = draw_(st.integers(1, 12))
    slots = [f"u-{i:02d}" for i in range(slot_count)]
    applicants = draw_(st.integers(1, 8))
    entries = []
    for i in range(draw_(st.integers(0, 40))):
        choices = draw_(st.lists(st.sampled_from(slots), min_size=1, max_size=3, unique=True))
        entries.append(
            Entry(
                f"E{i:04d}",
                f"A-{draw_(st.integers(0, applicants - 1))}",
                draw_(st.integers(1, 3)),
                tuple(choices),
            )
        )
    return (
        slots,
        entries,
        draw_(st.integers(1, 3)),
        draw_(st.binary(min_size=32, max_size=32)).hex(),
    )


@settings(max_examples=300, deadline=None)
@given(lotteries())
def test_every_draw_keeps_the_rules(case):
    slots, entries, max_wins, seed = case
    _doc, _digest, winners = run(entries, slots=slots, max_wins=max_wins, seed=seed)
    by_entry = {e.entry: e for e in entries}
    won_slots = [w.slot for w in winners]
    assert len(won_slots) == len(set(won_slots)), "a slot won twice"
    assert len({w.entry for w in winners}) == len(winners), "an entry won twice"
    wins = Counter(by_entry[w.entry].applicant for w in winners)
    assert all(n <= max_wins for n in wins.values()), "an applicant above the cap"
    winner_of = {w.slot: w for w in winners}
    for w in winners:
        entry = by_entry[w.entry]
        assert entry.choices[w.rank - 1] == w.slot
        # Cascade: every better choice of this entry went to someone else.
        for better in entry.choices[: w.rank - 1]:
            assert better in winner_of and winner_of[better].entry != w.entry
    for e in entries:
        if e.entry in {w.entry for w in winners}:
            continue
        # A losing entry lost every choice to another entry, or its applicant was at the cap.
        for slot in e.choices:
            assert slot in winner_of or wins[e.applicant] >= max_wins
            if slot in winner_of and wins[e.applicant] < max_wins:
                rival = winner_of[slot]
                rival_entry = by_entry[rival.entry]
                # The rival drew it in an earlier pass, or in the same pass with a better
                # (tier, lot): at least never from a worse tier in the same pass.
                rank = e.choices.index(slot) + 1
                assert rival.rank < rank or rival_entry.tier <= e.tier


def test_the_standalone_script_confirms_a_published_draw_and_catches_a_changed_winner(tmp_path):
    slots = [f"s{i}" for i in range(30)]
    entries = [
        Entry(f"E{i:04d}", f"A-{i % 17}", 1 + i % 2, (f"s{i % 30}", f"s{(i * 7) % 30}"))
        for i in range(120)
    ]
    document, digest, winners = run(entries, slots=slots)
    results = draw.results_document(
        round_code="2026-06", seed_hex=SEED, entries_sha256=digest, unavailable=[], winners=winners
    )
    (tmp_path / "entries.json").write_bytes(draw.canonical_bytes(document))
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    # The downloaded file runs on its own: no Django, no project on the path.
    script = tmp_path / "draw.py"
    script.write_bytes(SCRIPT.read_bytes())
    ok = subprocess.run(
        [sys.executable, "-I", str(script), "entries.json", "results.json", results["seed_sha256"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(winners)} winners drawn again" in ok.stdout

    forged = dict(results)
    forged["winners"] = [dict(w) for w in results["winners"]]
    forged["winners"][0]["entry"] = "E0119"
    (tmp_path / "results.json").write_text(json.dumps(forged), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-I", str(script), "entries.json", "results.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "the winners differ" in bad.stdout
