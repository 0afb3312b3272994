"""The GS1-128 human-readable line under each barcode of the statement PDF is
printed whole, inside the symbol, not cut off at both ends."""

from __future__ import annotations

import io
from datetime import date

import pdfplumber
import pytest
from factories_payments import make_charge, make_resident

from payments import documents

pytestmark = pytest.mark.django_db

# Each bar is at least one module (0.25 mm before the slip's scaling) wide; a glyph reaching
# past the first or last bar by more than this is outside the symbol's drawing.
TOLERANCE_PT = 1.0


def _lines_and_bars(pdf_bytes: bytes):
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        for page in pdf.pages:
            chars = [c for c in page.chars if c["text"].strip()]
            # The bars: filled rectangles of one height, the tallest black ones on the page.
            bars = [r for r in page.rects if r["height"] > 15 and r["width"] < 5]
            yield chars, bars


def test_every_human_readable_line_is_printed_whole_within_its_barcode():
    payer = make_resident()
    make_charge(payer, parts=[(date(2030, 6, 28), 10_000), (date(2030, 10, 31), 12_300)])
    context = documents.statement_context(payer, date(2030, 6, 1))
    expected = [f"({row['barcode'][:2]}){row['barcode'][2:]}" for row in context["rows"]]
    pdf = documents.statement_pdf(payer, date(2030, 6, 1))
    checked = 0
    for chars, bars in _lines_and_bars(pdf):
        for line in expected:
            # The line's glyphs: a run of characters on one baseline spelling the whole line.
            by_row: dict[float, list[dict]] = {}
            for c in chars:
                by_row.setdefault(round(c["top"], 0), []).append(c)
            for row in by_row.values():
                row.sort(key=lambda c: c["x0"])
                text = "".join(c["text"] for c in row)
                if text != line:
                    continue
                symbol = [b for b in bars if b["top"] < row[0]["top"] < b["bottom"] + 30]
                assert symbol, "no barcode drawn above the digits"
                left = min(b["x0"] for b in symbol)
                right = max(b["x1"] for b in symbol)
                assert row[0]["x0"] >= left - TOLERANCE_PT, (row[0]["x0"], left)
                assert row[-1]["x1"] <= right + TOLERANCE_PT, (row[-1]["x1"], right)
                checked += 1
    assert checked == len(expected)
