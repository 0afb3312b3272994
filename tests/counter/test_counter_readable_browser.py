"""A clerk at the counter reads words and yen, not data, in Chromium.

The clerk opens a resident's 360 view (bills as a table of labelled amounts), then a case of
theirs: the button asks for a correction in a verb, and the history says the states in words.
The same pages are checked in English, on a phone and on a desktop, with axe-core, and
screenshots are kept under var/screenshots/.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from browser.axe_staff import assert_no_axe_violations
from factories_payments import make_charge, make_resident
from factories_procedures import make_procedure
from playwright.sync_api import expect
from readable_check import assert_readable

from factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Round trips to the live server are slow on a loaded machine; 5 s is Playwright's default.
expect.set_options(timeout=15_000)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _no_wider_than_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


@pytest.fixture
def counter_case(transactional_db):
    from procedures import services

    user = UserFactory(role="resident")
    resident = make_resident(user=user, family_name="窓口", given_name="花子")
    make_charge(
        resident,
        code="fixed_asset_tax",
        fiscal_year=2025,
        parts=((date(2025, 4, 30), 123_456), (date(2099, 7, 31), 20_000)),
    )
    procedure = make_procedure()
    application = services.start_application(procedure=procedure, resident=resident, user=user)
    application = services.submit_application(
        application=application, actor=user, answers={"purpose": "勤務先に提出"}
    )
    assert application.state == "in_review"
    return resident, application


def test_clerk_reads_bills_and_case_history_in_words(
    browser, live_server, clerk, login_in_browser, counter_case
):
    resident, application = counter_case
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        locale="ja-JP", base_url=live_server.url, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
        page.goto(f"/staff/counter/residents/{resident.pk}/")
        bills = page.locator("#bills")
        expect(bills.locator("table.installments")).to_contain_text("123,456円")
        expect(bills).to_contain_text("固定資産税")
        expect(bills).to_contain_text("納期限超過")
        assert_readable(bills.inner_text())
        assert "charge_id" not in bills.inner_text()
        assert_no_axe_violations(page)
        page.screenshot(path=str(SHOTS / "counter-360-ja-1366.png"), full_page=True)

        page.goto(f"/staff/cases/{application.pk}/")
        assert page.get_by_role("button", name="補正依頼中").count() == 0
        page.fill("#id_comment", "本人確認書類の写しを添付してください。")
        page.get_by_role("button", name="補正を依頼する").click()
        events = page.locator("ol.events")
        expect(events).to_contain_text("審査中 → 補正依頼中")
        expect(events).to_contain_text("下書き → 申請済み")
        assert_readable(page.locator("main").inner_text())
        assert_no_axe_violations(page)
        page.screenshot(path=str(SHOTS / "counter-case-ja-1366.png"), full_page=True)

        # English, on a phone.
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("button[name=language][value=en]").click()
        page.wait_for_load_state()
        page.goto(f"/staff/counter/residents/{resident.pk}/")
        expect(page.locator("#bills")).to_contain_text("123,456 yen")
        assert_readable(page.locator("main").inner_text(), lang="en")
        _no_wider_than_the_screen(page)
        assert_no_axe_violations(page)
        page.screenshot(path=str(SHOTS / "counter-360-en-390.png"), full_page=True)
        page.goto(f"/staff/cases/{application.pk}/")
        expect(page.locator("ol.events")).to_contain_text("In review → Correction requested")
        assert_readable(page.locator("main").inner_text(), lang="en")
        _no_wider_than_the_screen(page)
        page.screenshot(path=str(SHOTS / "counter-case-en-390.png"), full_page=True)
    finally:
        context.close()
