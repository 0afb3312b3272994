"""The counter in Chromium: the hall display is readable across a room, the
kiosk's closed services look closed, and the clerk's waiting count keeps itself current."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.axe_staff import assert_no_axe_violations
from factories_counter import ServiceFactory
from playwright.sync_api import expect

from counter import services
from factories import PASSWORD, TOTP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Round trips to the live server are slow on a loaded machine; 5 s is Playwright's default.
expect.set_options(timeout=15_000)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_the_called_number_fills_the_hall_screen(browser, live_server, clerk, desk, service_a):
    for _ in range(3):
        services.issue_ticket(service=service_a)
    services.call_next(counter=desk, clerk=clerk)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1920, 1080), (1366, 768)):
        context = browser.new_context(
            locale="ja-JP", base_url=live_server.url, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        try:
            page.goto("/counter/display/")
            number = page.locator(".hall-now-number")
            expect(number).to_have_text("A-001")
            box = number.bounding_box()
            # Across a room: the digits take at least a quarter of the screen's height and
            # half its width, and all of it is on the screen.
            assert box["height"] >= 0.25 * height, box
            assert box["width"] >= 0.5 * width or box["height"] >= 0.3 * height, box
            glyphs = page.evaluate(
                "() => { const r = document.createRange();"
                " r.selectNodeContents(document.querySelector('.hall-now-number'));"
                " const b = r.getBoundingClientRect(); return [b.left, b.right, b.bottom]; }"
            )
            assert glyphs[0] >= 0 and glyphs[1] <= width and glyphs[2] <= height, glyphs
            expect(page.locator(".hall-now-counter")).to_have_text("1番窓口へお越しください")
            assert page.locator(".site-header").is_hidden()
            assert_no_axe_violations(page)
            page.screenshot(path=str(SHOTS / f"hall-display-ja-{width}.png"))
        finally:
            context.close()


def test_closed_services_look_closed_on_the_kiosk(page, service_a, desk):
    ServiceFactory(code="B", name_ja="転入・転出", name_en="Moving")  # no desk handles it
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/counter/kiosk/")
    open_button = page.locator("button[data-service=A]")
    closed_button = page.locator("button[data-service=B]")
    expect(closed_button).to_be_disabled()
    expect(closed_button).to_contain_text("受付時間外")
    look = """(el) => { const s = getComputedStyle(el);
        return {bg: s.backgroundColor, image: s.backgroundImage, border: s.borderTopStyle,
                cursor: s.cursor, color: s.color}; }"""
    enabled, disabled = open_button.evaluate(look), closed_button.evaluate(look)
    assert disabled["cursor"] == "not-allowed"
    assert disabled["border"] == "dashed" and enabled["border"] != "dashed"
    assert disabled["image"] != "none" and enabled["image"] == "none"
    assert disabled["bg"] != enabled["bg"] and disabled["color"] != enabled["color"]
    # A kiosk is shared: nobody signs in on it.
    assert page.locator("a[href*='/accounts/']").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_no_axe_violations(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kiosk-ja-390.png"), full_page=True)


def test_the_desks_waiting_count_refreshes_by_itself(
    page, live_server, login_in_browser, clerk, desk, service_a
):
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto(f"/staff/counter/{desk.pk}/")
    waiting = page.locator("#desk-waiting")
    expect(waiting).to_contain_text("0 人")
    page.evaluate("window.__notReloaded = true")
    # Two residents take tickets at the kiosk meanwhile.
    services.issue_ticket(service=service_a)
    services.issue_ticket(service=service_a)
    expect(waiting).to_contain_text("2 人", timeout=12000)
    assert page.evaluate("window.__notReloaded") is True
    assert_no_axe_violations(page)
