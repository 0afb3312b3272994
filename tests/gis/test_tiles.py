"""Vector tiles (ST_AsMVT) and GeoJSON over HTTP: access, content, emptiness, caching."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from django.test import Client
from factories_gis import features_of_tile

from factories import UserFactory

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_url(slug, z, x, y):
    return f"/gis/tiles/{slug}/{z}/{x}/{y}.pbf"


def test_staff_only_layer_tiles_are_refused_to_anonymous_and_residents(client, small_city):
    x, y = tile_of(139.5005, 35.7005, 14)
    assert client.get(tile_url("parcels", 14, x, y)).status_code == 403
    client.force_login(UserFactory(role="resident"))
    assert client.get(tile_url("parcels", 14, x, y)).status_code == 403


def test_staff_get_the_parcel_tile_with_both_parcels(clerk_client, small_city):
    x, y = tile_of(139.5005, 35.7005, 14)
    response = clerk_client.get(tile_url("parcels", 14, x, y))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert response["Cache-Control"].startswith("private")
    tile = mapbox_vector_tile.decode(response.content)
    chibans = sorted(f.attributes["chiban"] for f in features_of_tile(tile["parcels"]))
    assert chibans == ["本町1丁目1番1", "本町1丁目1番2"]
    assert {f["geometry"]["type"] for f in tile["parcels"]["features"]} == {"Polygon"}


def test_public_layer_tiles_are_open_and_publicly_cacheable(client, small_city):
    x, y = tile_of(139.5005, 35.7, 14)
    response = client.get(tile_url("roads", 14, x, y))
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    tile = mapbox_vector_tile.decode(response.content)
    assert [f.external_id for f in features_of_tile(tile["roads"])] == ["R1"]


def test_a_tile_of_an_empty_area_is_valid_and_empty(client, small_city):
    x, y = tile_of(141.0, 43.0, 14)  # Hokkaido: nothing of ours there
    response = client.get(tile_url("roads", 14, x, y))
    assert response.status_code == 200
    assert response.content == b""
    assert mapbox_vector_tile.decode(response.content) == {}


def test_unchanged_tile_answers_304_and_a_change_gives_a_new_etag(client, small_city):
    from gis import services
    from gis.models import Layer

    x, y = tile_of(139.5005, 35.7, 14)
    first = client.get(tile_url("roads", 14, x, y))
    again = client.get(tile_url("roads", 14, x, y), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    services.edit_feature(
        layer=Layer.objects.get(slug="roads"),
        external_id="R1",
        geometry=small_city["road"].geometry,
        attributes={"width_m": 8},
    )
    changed = client.get(tile_url("roads", 14, x, y), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_tile_outside_the_grid_is_not_found(client, small_city):
    assert client.get(tile_url("roads", 3, 8, 0)).status_code == 404
    assert client.get(tile_url("nope", 3, 0, 0)).status_code == 404


def test_layer_geojson_endpoint_respects_visibility_and_bbox(clerk_client, small_city):
    client = Client()  # clerk_client is pytest-django's client, logged in
    assert client.get("/gis/layers/parcels.geojson").status_code == 403
    response = clerk_client.get("/gis/layers/parcels.geojson?bbox=139.5011,35.7,139.503,35.701")
    assert response.status_code == 200
    assert [f["id"] for f in json.loads(response.content)["features"]] == ["本町1丁目1番2"]


def test_api_lists_only_public_layers_to_anonymous(clerk_client, small_city):
    client = Client()  # clerk_client is pytest-django's client, logged in
    anonymous = {row["slug"] for row in client.get("/api/gis/layers/").json()}
    staff = {row["slug"] for row in clerk_client.get("/api/gis/layers/").json()}
    assert anonymous == {"roads", "garbage-districts"}
    assert staff == {"roads", "garbage-districts", "parcels", "water"}


def test_api_features_by_bbox_and_staff_layer_refused(client, small_city):
    response = client.get("/api/gis/layers/roads/features/?bbox=139.4,35.6,139.6,35.8")
    assert response.status_code == 200
    assert [f["id"] for f in json.loads(response.content)["features"]] == ["R1"]
    assert client.get("/api/gis/layers/parcels/features/").status_code == 403


def test_api_point_query_shows_public_layers_only(clerk_client, small_city):
    client = Client()  # clerk_client is pytest-django's client, logged in
    url = "/api/gis/point/?lon=139.5009&lat=35.7005"
    assert [row["layer"] for row in client.get(url).json()] == ["garbage-districts"]
    staff = {(row["layer"], row["external_id"]) for row in clerk_client.get(url).json()}
    assert ("parcels", "本町1丁目1番1") in staff
    assert ("parcels", "本町1丁目1番2") not in staff
    assert client.get("/api/gis/point/?lon=x&lat=1").status_code == 400


def test_api_geocode_gives_point_parcel_and_garbage_days(client, small_city):
    response = client.get("/api/gis/geocode/", {"address": "本町一丁目1-2"})
    assert response.status_code == 200
    body = response.json()
    assert body["parcel_key"] == "本町1丁目1番2"
    assert (body["lon"], body["lat"]) == (pytest.approx(139.5015), pytest.approx(35.7005))
    assert body["garbage_district"]["name"] == "本町地区"
    kinds = {row["kind"]: row for row in body["garbage_district"]["calendar"]}
    assert len(kinds["burnable"]["next"]) == 3
    assert client.get("/api/gis/geocode/", {"address": "どこか"}).status_code == 404


def test_features_smaller_than_a_pixel_are_left_out_at_low_zoom_and_drawn_when_zoomed_in(
    parcels_layer,
):
    from django.contrib.gis.geos import Point
    from factories_gis import FeatureFactory, box

    from gis import selectors

    # A 2 m × 2 m sliver, a 30 m parcel and a boundary marker (a point) side by side.
    sliver = (139.50000, 35.70000, 139.50002, 35.70002)
    parcel = (139.50010, 35.70000, 139.50043, 35.70027)
    FeatureFactory(layer=parcels_layer, external_id="sliver", geometry=box(*sliver))
    FeatureFactory(layer=parcels_layer, external_id="parcel", geometry=box(*parcel))
    FeatureFactory(
        layer=parcels_layer, external_id="marker", geometry=Point(139.50005, 35.70001, srid=6668)
    )

    def drawn(z):
        x, y = tile_of(139.5002, 35.70001, z)
        tile = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, z, x, y))
        return sorted(f.external_id for f in features_of_tile(tile["parcels"]))

    assert drawn(14) == ["marker", "parcel"]
    assert drawn(18) == ["marker", "parcel", "sliver"]
