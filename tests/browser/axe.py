"""Accessibility and layout checks for browser tests, shared by every app's tests.

`assert_no_axe_violations(page)` runs axe-core (vendored from the npm registry in
static/vendor/axe-core-VERSION/) on the page as it is now and fails with every violation named.
The script goes in through the DevTools protocol's evaluation, which the page's Content Security
Policy does not govern: the CSP stays in force for the page's own scripts and is set aside for
this check only (as Playwright's bypass_csp would, without bypassing it for the whole journey).

`assert_fits_viewport(page)` fails when the page is wider than the viewport (a phone would scroll
sideways).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# WCAG 2.x A and AA, plus axe's best practices (landmarks, one h1, headings in order).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    (script,) = sorted(ROOT.glob("static/vendor/axe-core-*/axe.min.js"))[-1:]
    return script.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }""",
        AXE_TAGS,
    )


def assert_no_axe_violations(page) -> None:
    violations = axe_violations(page)
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )
    assert not violations, f"axe found violations on {page.url}:\n{report}"


def assert_fits_viewport(page) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px viewport"
