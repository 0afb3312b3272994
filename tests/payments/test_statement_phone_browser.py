"""On a 390 px phone the statement fits the screen, each installment is a card, and
the hidden row labels (.visually-hidden) take no room; on a desktop it stays a table."""

from __future__ import annotations

from datetime import date

import pytest
from browser.axe import assert_fits_viewport, assert_no_axe_violations
from factories_payments import make_charge, make_resident

from factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def statement_owner(resident_user):
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 28), 12_000), (date(2030, 10, 31), 12_000)])
    make_charge(payer, code="water", parts=[(date(2030, 7, 31), 3_500)])
    return resident_user


def _open_statement(browser, live_server, user, width: int, login, language="ja-JP"):
    context = browser.new_context(
        locale=language, base_url=live_server.url, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, user.email, PASSWORD)
    page.goto("/my/statement/")
    return context, page


def test_statement_is_cards_that_fit_a_phone(
    browser, live_server, statement_owner, login_in_browser
):
    context, page = _open_statement(browser, live_server, statement_owner, 390, login_in_browser)
    try:
        assert_fits_viewport(page)
        table = page.locator("#open-installments").bounding_box()
        assert table["width"] <= 390
        # Three installments as three cards of a few lines each, not a 3,500 px column.
        assert table["height"] < 1200, table
        label = page.locator("#open-installments tbody tr").first.locator("label")
        box = label.bounding_box()
        assert box["width"] > 100  # the tick box's label is readable on the card
        rows = page.locator("#open-installments tbody tr")
        first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"]  # cards stack
        page.screenshot(path="var/screenshots/statement-390-ja.png", full_page=True)
        labels = rows.nth(0).evaluate(
            "tr => [...tr.cells].map(td => getComputedStyle(td, '::before').content)"
        )
        assert '"納期限"' in labels and '"未納額"' in labels  # each value beside its label
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_visually_hidden_labels_take_no_room_on_a_desktop(
    browser, live_server, statement_owner, login_in_browser
):
    context, page = _open_statement(browser, live_server, statement_owner, 1366, login_in_browser)
    try:
        assert_fits_viewport(page)
        label = page.locator("#open-installments tbody tr").first.locator("label")
        box = label.bounding_box()
        assert box["width"] <= 1 and box["height"] <= 1
        assert page.locator("#open-installments thead").is_visible()
        table = page.locator("#open-installments").bounding_box()
        assert table["height"] < 400
        page.screenshot(path="var/screenshots/statement-1366-ja.png", full_page=True)
        assert_no_axe_violations(page)
    finally:
        context.close()
