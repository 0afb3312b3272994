"""Fixtures of the GIS tests: a tiny hand-drawn city of two parcels, a road and a district."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import LineString
from factories_gis import FeatureFactory, GarbageDistrictFactory, LayerFactory, box

from gis import services
from gis.models import Layer

# Two parcels side by side, 0.001° (~90 m) wide each, sharing the meridian 139.501.
WEST_PARCEL = (139.500, 35.700, 139.501, 35.701)
EAST_PARCEL = (139.501, 35.700, 139.502, 35.701)


@pytest.fixture
def parcels_layer(db):
    return LayerFactory(slug="parcels", kind=Layer.Kind.PARCELS, visibility="staff", min_zoom=0)


@pytest.fixture
def public_layer(db):
    return LayerFactory(
        slug="facilities", kind=Layer.Kind.FACILITIES, visibility="public", department="総務課"
    )


@pytest.fixture
def small_city(db, parcels_layer):
    west = FeatureFactory(
        layer=parcels_layer,
        external_id="本町1丁目1番1",
        geometry=box(*WEST_PARCEL),
        attributes={"chiban": "本町1丁目1番1"},
    )
    east = FeatureFactory(
        layer=parcels_layer,
        external_id="本町1丁目1番2",
        geometry=box(*EAST_PARCEL),
        attributes={"chiban": "本町1丁目1番2"},
    )
    roads = LayerFactory(slug="roads", kind=Layer.Kind.ROADS, visibility="public")
    road = FeatureFactory(
        layer=roads,
        external_id="R1",
        # Runs east–west 10 m south of the parcels' southern edge.
        geometry=LineString((139.499, 35.69991), (139.503, 35.69991), srid=6668),
    )
    water = LayerFactory(slug="water", kind=Layer.Kind.WATER_PIPES, visibility="staff")
    pipe = FeatureFactory(
        layer=water,
        external_id="W1",
        geometry=LineString((139.499, 35.69993), (139.503, 35.69993), srid=6668),
    )
    far_pipe = FeatureFactory(
        layer=water,
        external_id="W2",
        geometry=LineString((139.499, 35.6990), (139.503, 35.6990), srid=6668),
    )
    districts = LayerFactory(
        slug="garbage-districts", kind=Layer.Kind.DISTRICTS_GARBAGE, visibility="public"
    )
    FeatureFactory(
        layer=districts, external_id="G-HONCHO", geometry=box(139.49, 35.69, 139.51, 35.71)
    )
    district = GarbageDistrictFactory(code="G-HONCHO", name_ja="本町地区", name_en="Honcho")
    services.set_garbage_schedule(district=district, kind="burnable", rule="月 木")
    services.set_garbage_schedule(district=district, kind="plastic", rule="水2 水4")
    services.upsert_address_points(
        [
            ("本町1丁目1番1号", 139.5005, 35.7005, "本町1丁目1番1"),
            ("本町1丁目1番2号", 139.5015, 35.7005, "本町1丁目1番2"),
        ]
    )
    return {
        "west": west,
        "east": east,
        "road": road,
        "pipe": pipe,
        "far_pipe": far_pipe,
        "district": district,
    }
