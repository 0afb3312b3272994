"""The maps in a real browser: a resident finds their garbage days, a clerk reads a lot number."""

from __future__ import annotations

import re

import pytest

from factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_city(transactional_db):
    from gis.seed import build_city

    return build_city(parcels=900, say=lambda _text: None)


def test_resident_searches_an_address_and_sees_the_district_and_next_days(
    page, demo_city, login_in_browser
):
    resident = UserFactory(role="resident")
    login_in_browser(page, resident.email, PASSWORD)
    page.goto("/map/")
    page.wait_for_selector("#map[data-ready='1']")
    # The base map is drawn from our own vector tiles.
    page.wait_for_selector("#map canvas")
    page.fill("#id_address", "本町3丁目12番4号")
    page.get_by_role("button", name="探す").click()
    result = page.locator("#map-result")
    result.locator(".district-name").wait_for()
    assert "本町地区" in result.locator(".district-name").inner_text()
    days = result.locator(".next-days li")
    assert days.count() == 5
    burnable = days.filter(has_text="燃やすごみ").inner_text()
    # Three next dates like 5月14日（木）, each a Monday or Thursday for 本町.
    weekdays = re.findall(r"\d+月\d+日（(.)）", burnable)
    assert len(weekdays) == 3 and set(weekdays) <= {"月", "木"}


def test_resident_mistyped_address_is_explained(page, demo_city):
    page.goto("/map/")
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("#id_address", "本町99丁目1番1号")
    page.get_by_role("button", name="探す").click()
    error = page.locator("#address-error")
    error.wait_for(state="visible")
    assert "見つかりません" in error.inner_text()


def test_staff_clicks_a_parcel_and_sees_its_lot_number(page, demo_city, clerk, login_in_browser):
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/map/")
    page.wait_for_selector("#map[data-ready='1']")
    # Go to the address, then click the map there: the parcel under it answers.
    page.fill("#id_address", "本町1丁目1番1号")
    page.get_by_role("button", name="探す").click()
    page.locator("#map-result .found-address").wait_for()
    page.wait_for_timeout(500)  # let the map finish moving
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 6, box["y"] + box["height"] / 2 + 6)
    lot = page.locator("#map-result .lot-number").first
    lot.wait_for()
    assert lot.inner_text() == "本町1丁目1番1"
