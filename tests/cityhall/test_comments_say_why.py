"""Comments say why, not history: no process notes (which issue or item a line came from, which
team built it, who merges it) in the code's comments and docstrings, product and tests alike.
Performance stories belong in bench/README.md, history in commit messages."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Built from pieces so this file does not match itself.
PROCESS_NOTE = re.compile(
    r"\b" + "issue" + r"s? ?\d|" + "another" + r" team|\bthe " + "lead" + r"\b", re.IGNORECASE
)


def _sources():
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "var", "node_modules"} or "migrations" in parts:
            continue
        yield path


def _comments_and_docstrings(text: str):
    previous = None
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
        elif token.type == tokenize.STRING and previous in (
            None,
            tokenize.INDENT,
            tokenize.NEWLINE,
            tokenize.DEDENT,
        ):
            yield token.start[0], token.string
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.type


def test_the_pattern_finds_a_process_note():
    note = "# " + "Issue" + " 15: the household is told"
    assert [line for line, _ in _comments_and_docstrings(note + "\n")] == [1]
    assert PROCESS_NOTE.search(note)


def test_no_process_notes_in_comments_or_docstrings():
    found = []
    for path in _sources():
        for line, text in _comments_and_docstrings(path.read_text(encoding="utf-8")):
            if PROCESS_NOTE.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == []
