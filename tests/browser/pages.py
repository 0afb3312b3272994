"""What a person sees on a page, for browser tests: the visible text without the parts marked as
another language, and a check step that every page of a journey passes (fits the phone, axe
clean, a screenshot to look through)."""

from __future__ import annotations

import re
from pathlib import Path

from .axe import ROOT, assert_fits_viewport, assert_no_axe_violations

SCREENSHOTS = ROOT / "var" / "screenshots"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")


def visible_text(page) -> str:
    """The page's rendered text, leaving out elements marked lang="ja" (the 日本語 switch)."""
    return page.evaluate(
        """() => {
            const copy = document.body.cloneNode(true);
            copy.querySelectorAll('[lang="ja"], script, style').forEach(el => el.remove());
            document.body.appendChild(copy);
            copy.style.position = "absolute";
            const text = copy.innerText;
            copy.remove();
            return text;
        }"""
    )


def japanese_left(page, allowed: list[str]) -> list[str]:
    text = visible_text(page)
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, " ")
    return JAPANESE.findall(text)


def check_page(page, name: str, *, allowed_japanese: list[str] | None = None) -> Path:
    """Screenshot the whole page to var/screenshots/<name>.png, then fail if it is wider than
    the viewport, if axe finds a violation, or (allowed_japanese given: an English page) if any
    Japanese is left besides the names and addresses allowed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert_fits_viewport(page)
    assert_no_axe_violations(page)
    if allowed_japanese is not None:
        assert japanese_left(page, allowed_japanese) == [], f"Japanese left on {page.url}"
    return path
