"""Reusing a font's subset across certificates, for the fonts that print only public text.

WeasyPrint subsets every embedded font again for every PDF (HarfBuzz, keeping glyph ids over
IPAex's ~12,000 glyphs, in two passes), and a certificate embeds three: the body Mincho, its
bold title and the Gothic of the issue number, footer and verification block. Two of them only
ever print text the city publishes anyway: the title, and the issue number, page numbers,
verification code and URL. Their subset is made once per worker and reused while a
certificate's glyphs are all in it.

What a reused subset may hold is limited to public characters (ASCII, the certificate
templates' and stylesheet's text, the kinds' titles, the city's name): it grows by the glyphs of
such text seen in earlier certificates and never by a glyph of a name or an address, so no PDF
carries glyphs from another resident's certificate (個人情報保護法 23条: a certificate discloses
only its own subject's data). A font used for personal text (the body Mincho) is subset per
certificate, as before.

Only active inside `reusing_subsets()` (certificate rendering); any other WeasyPrint render in
the process subsets as usual.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTFont
from weasyprint.pdf import fonts as weasyprint_fonts

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "procedures" / "certificates"
STYLESHEET = Path(__file__).resolve().parent / "static" / "certificate.css"

_state = threading.local()
_lock = threading.Lock()
# (face key, hinting) -> (glyph ids of its public characters, glyph ids in the stored subset,
# the stored subset's bytes or None before the first)
_faces: dict[tuple, list] = {}
_original_subset = weasyprint_fonts.Font.subset


def public_characters() -> frozenset[str]:
    """The characters a certificate prints that are not anyone's personal data."""
    from . import _registry, get

    get("residence")  # imports the built-in kinds
    text = [chr(code) for code in range(0x20, 0x7F)]
    for path in sorted(TEMPLATES.glob("*.html")) + [STYLESHEET]:
        text.append(path.read_text(encoding="utf-8"))
    text.extend(str(kind.title) for kind in _registry.values())
    text.extend([settings.CITY_NAME, settings.PREFECTURE, settings.SITE_URL])
    return frozenset("".join(text))


def _face_key(font) -> tuple:
    return (font.family, font.weight, font.style, font.index, font.glyph_count, font.upem)


def _public_glyph_ids(font) -> frozenset[int]:
    ttfont = TTFont(io.BytesIO(font.file_content), fontNumber=font.index, lazy=True)
    cmap = ttfont.getBestCmap()
    ids = {0}  # .notdef is always kept
    for char in public_characters():
        name = cmap.get(ord(char))
        if name is not None:
            ids.add(ttfont.getGlyphID(name))
    return frozenset(ids)


def _subset(font, to_unicode, hinting):
    if (
        not getattr(_state, "active", False)
        or not to_unicode
        # Colour, bitmap-emoji and variable fonts are rewritten after subsetting (Font.clean);
        # attributes read with getattr: older WeasyPrint releases in the allowed range lack some.
        or getattr(font, "missing", None)
        or getattr(font, "png", False)
        or getattr(font, "svg", False)
        or getattr(font, "colr", False)
        or "fvar" in getattr(font, "tables", ("fvar",))
    ):
        return _original_subset(font, to_unicode, hinting)
    used = frozenset(to_unicode)
    key = (_face_key(font), hinting)
    with _lock:
        entry = _faces.get(key)
    if entry is None:
        entry = [_public_glyph_ids(font), frozenset(), None]
        with _lock:
            entry = _faces.setdefault(key, entry)
    public, stored, content = entry
    if content is not None and used <= stored:
        font.file_content = content
        return None
    if not used <= public:
        # Personal text (a name, an address) in this font: its own subset, not kept.
        return _original_subset(font, to_unicode, hinting)
    # Public text only: keep a subset of every public glyph seen so far in this font.
    grown = stored | used
    _original_subset(font, dict.fromkeys(sorted(grown), ""), hinting)
    with _lock:
        entry[1], entry[2] = grown, font.file_content
    return None


weasyprint_fonts.Font.subset = _subset


@contextlib.contextmanager
def reusing_subsets() -> Iterator[None]:
    previous = getattr(_state, "active", False)
    _state.active = True
    try:
        yield
    finally:
        _state.active = previous
