"""Map, garbage and staff pages through the test client; the iCalendar feed; geocoding."""

from __future__ import annotations

from datetime import date

import icalendar
import pytest
from django.test import Client
from factories_gis import resident_at

from factories import UserFactory
from gis import services
from residents.models import Address

pytestmark = pytest.mark.django_db


def test_map_page_configures_public_layers_only(client, small_city):
    response = client.get("/map/")
    assert response.status_code == 200
    config = response.context["map_config"]
    assert {layer["slug"] for layer in config["layers"]} == {"roads", "garbage-districts"}
    assert config["layers"][0]["tiles"].endswith("/{z}/{x}/{y}.pbf")
    html = response.content.decode()
    assert "vendor/leaflet-1.9.4/leaflet.js" in html
    assert "vendor/leaflet.vectorgrid-1.3.0/" in html
    assert "<script>" not in html  # CSP: script-src 'self', the config is a JSON data block


def test_map_shows_the_logged_in_residents_garbage_days(client, small_city):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番2号", user=user)
    client.force_login(user)
    response = client.get("/map/")
    assert response.context["own_district"].code == "G-HONCHO"
    assert "わたしのごみ出しの日" in response.content.decode()


def test_garbage_page_finds_the_district_of_a_typed_address(client, small_city):
    response = client.get("/garbage/", {"address": "本町1-1-1"})
    assert response.status_code == 200
    assert response.context["district"].code == "G-HONCHO"
    html = response.content.decode()
    # The days in words, not the open-data tokens 「月 木」 / 「水2 水4」.
    assert "本町地区" in html and "燃やすごみ" in html and "毎週月曜日・木曜日" in html
    assert "第2・第4水曜日" in html and "水2 水4" not in html
    assert "年末年始（12月31日〜1月3日）は収集がありません" in html
    next_burnable = response.context["calendar"][0]["next"]
    assert all(day.weekday() in (0, 3) for day in next_burnable)


def test_garbage_page_explains_an_unknown_address_next_to_the_field(client, small_city):
    response = client.get("/garbage/", {"address": "本町9丁目9番9号"})
    assert response.context["district"] is None
    assert "その住所のごみ収集地区が見つかりません" in response.content.decode()
    assert "error-summary" in response.content.decode()


def test_the_icalendar_feed_parses_and_lists_the_collection_days(client, small_city):
    response = client.get("/garbage/G-HONCHO.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert events
    burnable = [e for e in events if str(e["SUMMARY"]) == "燃やすごみ"]
    plastic = [e for e in events if str(e["SUMMARY"]) == "プラスチック"]
    assert all(e["DTSTART"].dt.weekday() in (0, 3) for e in burnable)
    assert all(e["DTSTART"].dt.weekday() == 2 for e in plastic)
    assert all(isinstance(e["DTSTART"].dt, date) for e in events)
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert client.get("/garbage/NOPE.ics").status_code == 404


def test_dashboard_panel_shows_garbage_days(client, small_city):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番1号", user=user)
    client.force_login(user)
    response = client.get("/my/")
    assert "わたしのごみ出しの日" in response.content.decode()


def test_geocoding_places_resident_addresses_on_their_parcels(small_city):
    resident_at("本町1丁目1番2号 メゾン本町101")
    resident_at("本町1丁目7番7号", family_name="未登録")
    resolved, unresolved = services.geocode_resident_addresses()
    assert (resolved, unresolved) == (1, 1)
    placed = Address.objects.get(normalized__startswith="本町1丁目1番2号")
    assert placed.parcel_key == "本町1丁目1番2"
    assert (placed.location.x, placed.location.y) == (
        pytest.approx(139.5015),
        pytest.approx(35.7005),
    )
    assert services.geocode_resident_addresses() == (0, 1)


def test_staff_fix_an_unresolved_address(clerk_client, small_city):
    resident_at("本町1丁目7番7号")
    page = clerk_client.get("/staff/gis/unresolved/")
    assert page.status_code == 200
    assert "本町1丁目7番7号" in page.content.decode()
    address = Address.objects.get(normalized="本町1丁目7番7号")
    bad = clerk_client.post(
        "/staff/gis/unresolved/", {"address_id": address.pk, "typed_address": "本町1丁目99番1号"}
    )
    assert "その住所の位置が見つかりません" in bad.content.decode()
    ok = clerk_client.post(
        "/staff/gis/unresolved/", {"address_id": address.pk, "typed_address": "本町1丁目1番1号"}
    )
    assert ok.status_code == 302
    address.refresh_from_db()
    assert address.parcel_key == "本町1丁目1番1"


def test_staff_pages_are_closed_to_residents(small_city):
    client = Client()
    client.force_login(UserFactory(role="resident"))
    for url in ("/staff/map/", "/staff/gis/layers/", "/staff/gis/unresolved/"):
        assert client.get(url).status_code == 403, url


def test_staff_map_click_shows_lot_number_and_residents(clerk_client, small_city):
    resident_at("本町1丁目1番1号", family_name="筆上")
    services.geocode_resident_addresses()
    assert clerk_client.get("/staff/map/").status_code == 200
    response = clerk_client.get("/staff/map/at/", {"lon": 139.5005, "lat": 35.7005})
    html = response.content.decode()
    assert response.status_code == 200
    assert "本町1丁目1番1" in html and "本町1丁目1番2" not in html
    assert "筆上 花子" in html
    assert "本町地区" in html or "G-HONCHO" in html


def test_staff_layer_list_and_export(clerk_client, small_city):
    page = clerk_client.get("/staff/gis/layers/")
    assert page.status_code == 200
    assert [(layer.slug, layer.feature_count) for layer in page.context["layers"]][:1]
    export = clerk_client.get("/staff/gis/layers/parcels.geojson")
    body = b"".join(export.streaming_content).decode()
    assert '"本町1丁目1番1"' in body and '"本町1丁目1番2"' in body
