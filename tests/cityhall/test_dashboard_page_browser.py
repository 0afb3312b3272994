"""/my/ served from the stored page in Chromium: the forms every page carries (the language
switch, signing out) post the token put back for this visitor, in both languages."""

from datetime import date

import pytest
from factories_payments import make_charge, make_resident

from factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_stored_dashboards_forms_work_in_a_browser(page, resident_user, login_in_browser):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    login_in_browser(page, resident_user.email, PASSWORD)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/my/")
        page.goto("/my/")  # the stored page
        assert "12,000" in page.content()
    page.locator("form.lang-form button").first.click()
    page.wait_for_load_state()
    page.goto("/my/")
    page.goto("/my/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "12,000 yen" in page.content()
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_load_state()
    page.goto("/my/")
    assert "/accounts/login/" in page.url
