import pytest

from factories import PASSWORD, TOTP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_logs_in_with_totp_and_reaches_the_staff_dashboard(page, clerk, login_in_browser):
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/")
    assert page.locator("h1").inner_text() == "職員ダッシュボード"


def test_wrong_totp_code_keeps_the_clerk_out(page, clerk):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", clerk.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", "000000")
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_load_state()
    assert page.locator("input[name=code]").is_visible()
    page.goto("/staff/")
    # Still not signed in: the staff door sends the clerk back to authenticate.
    assert "/accounts/" in page.url
    assert "職員ダッシュボード" not in page.content()


def test_resident_switches_the_portal_to_english(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "市役所に行かずに、手続きを。"
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Do it online, without going to city hall."
