#!/usr/bin/env python3
"""The facility lottery draw (施設予約の抽選), and a standalone check anyone can run.

This file is both the code the city runs and the script residents download from the round's
page: it needs only Python 3.9+ and its standard library. Run it on the two published files::

    python3 draw.py entries.json results.json

It checks that the entries file is the one whose SHA-256 the city published when entries
closed, that the seed matches the SHA-256 published at the same moment, re-runs the draw and
compares every winner. The files name no person: entries carry an entry number, a
pseudonymous applicant code (the same code for all entries of one applicant in the round),
the tier and the chosen slots.

The draw (algorithm ``machiba-draw-v1``), in words:

1. ``key = SHA-256(seed bytes ‖ SHA-256 of the entries file)``: the seed, committed before
   anyone could see it, is bound to exactly the published entries.
2. Each entry gets, for each of its choices, a lot number
   ``SHA-256(key ‖ "<entry>:<rank>")`` (compared as bytes).
3. Choices are drawn rank by rank: all first choices (第1希望) first, then the second choices
   of entries that have not won (第2希望 is drawn only if the first lost), and so on.
4. Within a rank, choices are taken in order of (tier, lot number, entry number); lower tier
   numbers go first (e.g. tier 1 = groups of the city's residents). A choice wins when its slot
   is still free and its applicant has fewer wins than the round's cap; otherwise it loses.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from typing import NamedTuple

ALGORITHM = "machiba-draw-v1"
ENTRIES_FORMAT = "machiba-lottery-entries/1"
RESULTS_FORMAT = "machiba-lottery-results/1"


class Entry(NamedTuple):
    entry: str  # public entry number, e.g. "E000123"
    applicant: str  # pseudonym, the same for every entry of one applicant in the round
    tier: int  # 1 goes first
    choices: tuple[str, ...]  # slot codes, first choice first


class Win(NamedTuple):
    slot: str
    entry: str
    rank: int  # 1 = 第1希望


def canonical_bytes(document: dict) -> bytes:
    """The one byte form of a document whose SHA-256 is published."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entries_document(
    *, round_code: str, max_wins: int, slots: Iterable[str], entries: Iterable[Entry]
) -> dict:
    return {
        "format": ENTRIES_FORMAT,
        "algorithm": ALGORITHM,
        "round": round_code,
        "max_wins_per_applicant": max_wins,
        "slots": sorted(slots),
        "entries": [
            {"entry": e.entry, "applicant": e.applicant, "tier": e.tier, "choices": list(e.choices)}
            for e in sorted(entries, key=lambda e: e.entry)
        ],
    }


def entries_from_document(document: dict) -> list[Entry]:
    if document.get("format") != ENTRIES_FORMAT:
        raise ValueError(f"not an entries file of format {ENTRIES_FORMAT}")
    return [
        Entry(str(e["entry"]), str(e["applicant"]), int(e["tier"]), tuple(e["choices"]))
        for e in document["entries"]
    ]


def draw(
    entries: list[Entry],
    *,
    seed_hex: str,
    entries_sha256: str,
    max_wins: int,
    slots: Iterable[str],
    unavailable: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> list[Win]:
    """Run the draw; the winners in slot order. Deterministic: the same inputs give the same
    winners on any machine."""
    key = hashlib.sha256(bytes.fromhex(seed_hex) + bytes.fromhex(entries_sha256)).digest()
    base = hashlib.sha256(key)
    free = set(slots) - set(unavailable)
    wins_of: dict[str, int] = {}
    won: set[str] = set()
    winners: list[Win] = []
    deepest = max((len(e.choices) for e in entries), default=0)
    total = sum(len(e.choices) for e in entries)
    done = 0
    for rank in range(1, deepest + 1):
        candidates = []
        for e in entries:
            if len(e.choices) < rank or e.entry in won:
                continue
            lot = base.copy()
            lot.update(f"{e.entry}:{rank}".encode())
            candidates.append((e.tier, lot.digest(), e.entry, e.applicant, e.choices[rank - 1]))
        candidates.sort()
        for _tier, _lot, entry, applicant, slot in candidates:
            if slot in free and wins_of.get(applicant, 0) < max_wins:
                free.discard(slot)
                won.add(entry)
                wins_of[applicant] = wins_of.get(applicant, 0) + 1
                winners.append(Win(slot, entry, rank))
        done += len(candidates)
        if progress is not None:
            progress(done, total)
    return sorted(winners, key=lambda w: w.slot)


def results_document(
    *,
    round_code: str,
    seed_hex: str,
    entries_sha256: str,
    unavailable: Iterable[str],
    winners: Iterable[Win],
) -> dict:
    return {
        "format": RESULTS_FORMAT,
        "algorithm": ALGORITHM,
        "round": round_code,
        "seed": seed_hex,
        "seed_sha256": sha256_hex(bytes.fromhex(seed_hex)),
        "entries_sha256": entries_sha256,
        "unavailable_slots": sorted(unavailable),
        "winners": [{"slot": w.slot, "entry": w.entry, "rank": w.rank} for w in winners],
    }


def verify(entries_bytes: bytes, results: dict, *, published_seed_sha256: str = "") -> list[str]:
    """Re-run the draw from the published files; the list of problems (empty when it holds)."""
    problems = []
    entries_sha256 = sha256_hex(entries_bytes)
    document = json.loads(entries_bytes.decode("utf-8"))
    if canonical_bytes(document) != entries_bytes:
        problems.append("the entries file is not in its canonical form")
    if results.get("entries_sha256") != entries_sha256:
        problems.append(
            f"the entries file's SHA-256 is {entries_sha256}, the results name "
            f"{results.get('entries_sha256')}"
        )
    seed_sha256 = sha256_hex(bytes.fromhex(results["seed"]))
    if seed_sha256 != results.get("seed_sha256"):
        problems.append("the seed does not match the SHA-256 given with it")
    if published_seed_sha256 and seed_sha256 != published_seed_sha256:
        problems.append("the seed does not match the SHA-256 published when entries closed")
    winners = draw(
        entries_from_document(document),
        seed_hex=results["seed"],
        entries_sha256=entries_sha256,
        max_wins=int(document["max_wins_per_applicant"]),
        slots=document["slots"],
        unavailable=results.get("unavailable_slots", []),
    )
    expected = [{"slot": w.slot, "entry": w.entry, "rank": w.rank} for w in winners]
    if expected != results.get("winners"):
        published = {(w["slot"], w["entry"], w["rank"]) for w in results.get("winners", [])}
        ours = {(w["slot"], w["entry"], w["rank"]) for w in expected}
        problems.append(
            f"the winners differ: {len(published - ours)} published winners are not drawn "
            f"again, {len(ours - published)} drawn winners were not published"
        )
    return problems


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print("usage: draw.py entries.json results.json [seed-sha256-published-at-close]")
        return 2
    with open(argv[1], "rb") as handle:
        entries_bytes = handle.read()
    with open(argv[2], "rb") as handle:
        results = json.loads(handle.read().decode("utf-8"))
    problems = verify(
        entries_bytes, results, published_seed_sha256=argv[3] if len(argv) == 4 else ""
    )
    if problems:
        for problem in problems:
            print("NG:", problem)
        return 1
    print(
        f"OK: round {results['round']}, entries SHA-256 {results['entries_sha256']}, "
        f"{len(results['winners'])} winners drawn again, every one the same."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
