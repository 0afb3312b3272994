"""A supervisor corrects a charge above the approval threshold in Chromium (first with a wrong
amount), and a second supervisor approves it from the approvals page."""

from __future__ import annotations

from datetime import date

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from factories_payments import make_charge, make_resident

from factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_large_correction_is_asked_by_one_supervisor_and_approved_by_another(
    browser, page, live_server, supervisor, login_in_browser, settings
):
    settings.PAYMENTS_APPROVAL_THRESHOLD = 50_000
    approver = UserFactory(role="supervisor")
    TOTP.activate(approver, TOTP_SECRET)
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])

    login_in_browser(page, supervisor.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto(f"/staff/payments/residents/{payer.pk}/")
    page.locator("#charges").get_by_role("link", name="更正する").click()
    # The most likely mistake: an amount that is not a number of yen.
    page.get_by_label("第1期の新しい金額（円）").fill("-1")
    page.get_by_role("button", name="確認画面へ進む").click()
    assert page.locator(".error-summary").is_visible()
    assert page.get_by_label("更正の理由").input_value() == ""
    page.get_by_label("第1期の新しい金額（円）").fill("120000")
    page.get_by_label("更正の理由").fill("課税標準の誤り")
    page.get_by_role("button", name="確認画面へ進む").click()
    assert "承認待ち" in page.locator("#confirm-warning").inner_text()
    assert "200,000円 → 120,000円" in page.locator("#confirm-summary").inner_text()
    page.get_by_role("button", name="更正を確定する").click()
    assert "承認待ちにしました" in page.locator(".messages").inner_text()
    charge.refresh_from_db()
    assert charge.amount == 200_000

    context = browser.new_context(locale="ja-JP", base_url=live_server.url)
    try:
        other = context.new_page()
        other.set_default_timeout(15000)
        login_in_browser(other, approver.email, PASSWORD, totp_secret=TOTP_SECRET)
        other.goto("/staff/payments/approvals/")
        other.locator("#pending-approvals a").first.click()
        other.get_by_label("承認する").check()
        other.get_by_role("button", name="確認画面へ進む").click()
        other.get_by_role("button", name="決裁を確定する").click()
        assert "承認しました" in other.locator(".messages").inner_text()
        assert "承認済" in other.locator("#decided-approvals").inner_text()
    finally:
        context.close()
    charge.refresh_from_db()
    assert charge.amount == 120_000
