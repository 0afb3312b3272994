"""No page breaks its own Content Security Policy, and every page has the city's icon.

htmx injects a <style> for its request indicator unless told not to; the CSP (style-src 'self')
refuses it and Chromium reports the refusal on the console of every page. The pages are opened
in Chromium as a visitor, a resident and a clerk, and any console message about the policy (or
a resource that failed to load, such as a missing favicon) fails the test.
"""

from __future__ import annotations

import pytest
from factories_counter import CounterFactory, ServiceFactory

from factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC_PAGES = [
    "/",
    "/counter/kiosk/",
    "/counter/status/",
    "/counter/display/",
    "/map/",
    "/garbage/",
    "/procedures/",
    "/accounts/login/",
]
STAFF_PAGES = ["/staff/", "/staff/cases/", "/staff/map/", "/staff/counter/residents/"]


def _watch(page) -> list[str]:
    problems: list[str] = []

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Failed to load resource" in text:
            problems.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


def _open_all(page, urls: list[str]) -> None:
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        # htmx and the map scripts run after DOMContentLoaded; give polling a turn too.
        page.wait_for_timeout(300)


def test_no_page_violates_the_csp_and_each_has_the_favicon(
    page, live_server, login_in_browser, clerk
):
    service = ServiceFactory(code="A", name_ja="住民票・証明書", name_en="Certificates")
    desk = CounterFactory(number=1, services=[service])
    problems = _watch(page)

    _open_all(page, PUBLIC_PAGES)
    icons = page.locator("link[rel=icon]")
    if icons.count() != 1:
        problems.append(f"{page.url}: {icons.count()} <link rel=icon> instead of one")
    else:
        response = page.request.get(icons.get_attribute("href"))
        if not (response.ok and response.headers["content-type"].startswith("image/svg+xml")):
            problems.append(f"the icon {icons.get_attribute('href')} answers {response.status}")
    if not page.request.get("/favicon.ico").ok:  # programs that do not read the page
        problems.append("/favicon.ico is missing")

    resident = UserFactory(role="resident")
    login_in_browser(page, resident.email, PASSWORD)
    _open_all(page, ["/my/", "/map/", "/inbox/"])

    page.context.clear_cookies()
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    _open_all(page, [*STAFF_PAGES, f"/staff/counter/{desk.pk}/"])

    assert not problems, "\n".join(problems)
