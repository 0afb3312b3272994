"""Spatial selectors: point, distance, intersection, under a road, districts, addresses."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import LineString, Point
from django.utils import timezone

from gis import selectors, services
from gis.models import Feature, Layer

pytestmark = pytest.mark.django_db


def test_point_query_returns_the_containing_parcel_not_its_neighbour(small_city):
    # 0.0001° (~9 m) west of the shared boundary: inside the west parcel only.
    found = list(
        selectors.features_at_point(Point(139.5009, 35.7005, srid=6668), kinds=["parcels"])
    )
    assert [f.external_id for f in found] == ["本町1丁目1番1"]
    east = selectors.parcel_at_point(Point(139.5011, 35.7005, srid=6668))
    assert east.external_id == "本町1丁目1番2"


def test_point_query_takes_a_point_in_another_reference_system(small_city):
    # The same spot as above, given in WGS84 Web Mercator.
    mercator = Point(139.5009, 35.7005, srid=6668).transform(3857, clone=True)
    assert selectors.parcel_at_point(mercator).external_id == "本町1丁目1番1"


def test_old_versions_are_not_found(small_city, parcels_layer):
    services.edit_feature(
        layer=parcels_layer,
        external_id="本町1丁目1番1",
        geometry=small_city["west"].geometry.buffer(-0.0004),
        attributes={"chiban": "本町1丁目1番1"},
    )
    # Near the west parcel's old edge: the shrunk new version does not reach it.
    assert selectors.parcel_at_point(Point(139.5001, 35.7001, srid=6668)) is None
    assert Feature.objects.filter(external_id="本町1丁目1番1").count() == 2


def test_within_distance_is_measured_in_metres_on_the_ellipsoid(small_city):
    at = Point(139.5005, 35.7005, srid=6668)
    near = selectors.features_within_distance(at, 70, layers=["water"])
    assert [f.external_id for f in near] == ["W1"]
    farther = selectors.features_within_distance(at, 180, layers=["water"])
    assert [f.external_id for f in farther] == ["W1", "W2"]
    assert farther[0].distance.m == pytest.approx(63.0, abs=2.0)


def test_features_intersecting_a_geometry(small_city):
    line = LineString((139.5005, 35.7005), (139.5015, 35.7005), srid=6668)
    found = selectors.features_intersecting(line, kinds=["parcels"]).order_by("external_id")
    assert [f.external_id for f in found] == ["本町1丁目1番1", "本町1丁目1番2"]


def test_under_a_road_section_lie_the_parcels_and_pipes_within_the_buffer(small_city):
    wide = selectors.under_road_section(small_city["road"], 15)
    assert [f.external_id for f in wide["parcels"]] == ["本町1丁目1番1", "本町1丁目1番2"]
    assert [f.external_id for f in wide["water_pipes"]] == ["W1"]
    narrow = selectors.under_road_section(small_city["road"], 5)
    assert narrow["parcels"] == []
    assert [f.external_id for f in narrow["water_pipes"]] == ["W1"]


def test_district_of_a_point_and_outside_every_district(small_city):
    inside = selectors.district_of_point(
        Layer.Kind.DISTRICTS_GARBAGE, Point(139.5, 35.7, srid=6668)
    )
    assert inside.external_id == "G-HONCHO"
    assert selectors.district_of_point("districts_garbage", Point(140.0, 36.0, srid=6668)) is None


def test_parcel_of_an_address(small_city):
    assert selectors.parcel_of_address("本町1丁目1番2号").external_id == "本町1丁目1番2"
    assert selectors.parcel_of_address("本町9丁目9番9号") is None


def test_layer_geojson_is_built_by_postgis_and_filtered_by_bbox(small_city, parcels_layer):
    import json

    text, count = selectors.layer_geojson(parcels_layer, bbox=(139.5011, 35.7, 139.503, 35.701))
    doc = json.loads(text)
    assert count == 1
    assert [f["id"] for f in doc["features"]] == ["本町1丁目1番2"]
    empty, none = selectors.layer_geojson(parcels_layer, bbox=(140, 36, 140.1, 36.1))
    assert none == 0 and json.loads(empty)["features"] == []


def test_edit_refuses_an_invalid_geometry(small_city, parcels_layer):
    from django.contrib.gis.geos import GEOSGeometry
    from django.core.exceptions import ValidationError

    bowtie = GEOSGeometry(
        "POLYGON((139.5 35.7,139.51 35.71,139.51 35.7,139.5 35.71,139.5 35.7))", srid=6668
    )
    with pytest.raises(ValidationError, match="invalid"):
        services.edit_feature(layer=parcels_layer, external_id="X", geometry=bowtie, attributes={})
    assert not Feature.objects.filter(external_id="X").exists()
    assert (
        Feature.objects.filter(valid_to__isnull=True, valid_from__lte=timezone.now()).count() == 6
    )
