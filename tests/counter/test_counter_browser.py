import re

import pytest
from playwright.sync_api import expect

from counter.models import Ticket
from factories import PASSWORD, TOTP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_kiosk_ticket_is_called_and_the_hall_display_updates_without_reload(
    page, browser, live_server, login_in_browser, clerk, service_a, desk
):
    # A resident takes a ticket on the kiosk page.
    page.goto("/counter/kiosk/")
    page.locator("button[data-service=A]").click()
    expect(page.locator("[data-ticket-number]")).to_have_text("A-001")
    expect(page.locator("#ticket-status")).to_contain_text("前に 0 人")
    assert page.locator(".qr svg").count() == 1

    # The hall display shows one waiting.
    page.goto("/counter/display/")
    board = page.locator("section.board-service[data-service=A]")
    expect(board.locator(".waiting")).to_have_text("1")
    expect(board.locator(".board-serving")).to_have_text("—")
    page.evaluate("window.__notReloaded = true")

    # A clerk at desk 1, in a second browser, calls the ticket.
    clerk_context = browser.new_context(locale="ja-JP", base_url=live_server.url)
    try:
        clerk_page = clerk_context.new_page()
        clerk_page.set_default_timeout(15000)
        login_in_browser(clerk_page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
        clerk_page.goto(f"/staff/counter/{desk.pk}/")
        clerk_page.get_by_role("button", name="次の方を呼ぶ").click()
        expect(clerk_page.locator("#desk .desk-current")).to_have_attribute("data-ticket", "A-001")
    finally:
        clerk_context.close()
    assert Ticket.objects.get().state == "called"

    # The display picks it up by polling, without a reload.
    expect(board.locator(".board-serving")).to_contain_text("A-001", timeout=10000)
    expect(board.locator(".board-serving")).to_contain_text("1番窓口")
    expect(board.locator(".waiting")).to_have_text("0")
    assert page.evaluate("window.__notReloaded") is True
    assert re.search(r"/counter/display/$", page.url)
