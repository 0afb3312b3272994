"""The maps in Chromium: names on the map, a legend, the resident's own
address with its hazard zone, and a clerk's click beside the search marker that outlines the
parcel."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.axe_staff import assert_no_axe_violations
from factories_gis import resident_at
from playwright.sync_api import expect

from factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Round trips to the live server are slow on a loaded machine; 5 s is Playwright's default.
expect.set_options(timeout=15_000)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def demo_city(transactional_db):
    from gis import services
    from gis.seed import build_city

    layers = build_city(parcels=900, say=lambda _text: None)
    services.geocode_resident_addresses()
    return layers


def test_resident_map_names_places_and_marks_home_in_the_flood_zone(
    browser, live_server, demo_city, login_in_browser
):
    from gis import selectors
    from gis.models import AddressPoint

    user = UserFactory(role="resident")
    # An address along the river, inside the demo city's flood zone (found by PostGIS).
    flooded = next(
        point
        for point in AddressPoint.objects.filter(address_key__startswith="本町1丁目")
        if selectors.hazard_zones_at(point.point).exists()
    )
    resident_at(flooded.address_key, user=user)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, width in (("ja", 1366), ("en", 390)):
        context = browser.new_context(
            locale="ja-JP", base_url=live_server.url, viewport={"width": width, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            login_in_browser(page, user.email, PASSWORD)
            if lang == "en":
                page.locator("button[name=language][value=en]").click()
                page.wait_for_load_state()
            page.goto("/map/")
            page.wait_for_selector("#map[data-ready='1']")
            labels = page.locator(".leaflet-tooltip.map-label")
            expect(labels.filter(has_text="本町地区")).to_have_count(1)
            expect(labels.filter(has_text="まちば市役所")).to_have_count(1)
            home = page.locator(".leaflet-tooltip.map-label-home")
            expect(home).to_have_text(
                "あなたの登録住所" if lang == "ja" else "Your registered address"
            )
            place = page.locator("#my-place")
            expect(place).to_contain_text("まちば川 洪水浸水想定区域")
            legend = page.locator(".map-legend")
            assert legend.locator("svg.swatch").count() >= 5
            # Turning the facilities off takes their names off the map too.
            page.locator("input[data-layer=facilities]").uncheck()
            expect(labels.filter(has_text="まちば市役所")).to_have_count(0)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert_no_axe_violations(page)
            page.screenshot(path=str(SHOTS / f"map-resident-{lang}-{width}.png"), full_page=True)
        finally:
            context.close()


def test_clerk_clicks_beside_the_search_marker_and_the_parcel_is_outlined(
    page, demo_city, clerk, login_in_browser
):
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/map/")
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("#id_address", "本町1丁目1番1号")
    page.get_by_role("button", name="探す").click()
    page.locator("#map-result .found-address").wait_for()
    marker = page.locator(".leaflet-overlay-pane path[stroke='#c00']")
    expect(marker).to_have_count(1)
    # Wait until the map has finished moving to the address, then click 3 px beside the
    # centre of the red search marker (radius 8 px): on the marker itself.
    spot = None
    for _ in range(50):
        box = marker.bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if spot is not None and abs(spot[0] - centre[0]) + abs(spot[1] - centre[1]) < 0.5:
            break
        spot = centre
        page.wait_for_timeout(200)
    page.mouse.click(spot[0] + 3, spot[1] + 2)
    lot = page.locator("#map-result .lot-number").first
    expect(lot).to_have_text("本町1丁目1番1", timeout=20_000)
    expect(page.locator("#map")).to_have_attribute("data-highlighted", "本町1丁目1番1")
    outline = page.locator(".leaflet-overlay-pane path[stroke='#ff6f00']")
    expect(outline).to_have_count(1)
    # The panel reads as labels and values.
    expect(page.locator("#map-result")).to_contain_text("地積")
    assert "return_period" not in page.locator("#map-result").inner_text()
    assert_no_axe_violations(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "map-staff-ja-1280.png"), full_page=True)
