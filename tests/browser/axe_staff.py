"""axe-core in the browser tests of the counter, map and staff pages.

axe-core comes from the npm registry (`npm pack axe-core`), vendored under static/. It is loaded
from our own origin, which the CSP (script-src 'self') allows, so the page's policy stays in
force while axe runs; the check adds nothing to the page a person would see.
"""

from __future__ import annotations

AXE_URL = "/static/vendor/axe-core-4.14.1/axe.min.js"
# WCAG 2.1 A and AA, the level Japanese public bodies are asked to meet (JIS X 8341-3:2016).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return result["violations"]


def assert_no_axe_violations(page) -> None:
    violations = axe_violations(page)
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in violations
    ]
    assert not violations, f"axe on {page.url}:\n" + "\n".join(described)
