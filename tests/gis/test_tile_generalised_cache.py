"""Tiles at speed: low zooms read the generalised table the triggers keep, and tiles are
served from Redis under a key of the layer's revision and the audience."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import LineString, Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories_gis import FeatureFactory, box, features_of_tile

from factories import UserFactory
from gis import selectors, services
from gis.models import GeneralisedFeature, Layer

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_url(slug, z, x, y):
    return f"/gis/tiles/{slug}/{z}/{x}/{y}.pbf"


def _zooms(feature) -> list[int]:
    return sorted(
        GeneralisedFeature.objects.filter(feature_id=feature.pk).values_list("zoom", flat=True)
    )


def _mvt_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "ST_AsMVT(" in q["sql"]]


def test_generalised_rows_follow_every_feature_write(parcels_layer):
    # A 30 m parcel (0.00033°) is a pixel wide from z13 on (a pixel is 360° / 2^z / 256:
    # 0.00034° at z12, 0.00017° at z13); a 2 m sliver never below z16; a point at every zoom.
    parcel = FeatureFactory(
        layer=parcels_layer,
        external_id="parcel",
        geometry=box(139.50010, 35.70000, 139.50043, 35.70027),
    )
    sliver = FeatureFactory(
        layer=parcels_layer,
        external_id="sliver",
        geometry=box(139.50000, 35.70000, 139.50002, 35.70002),
    )
    marker = FeatureFactory(
        layer=parcels_layer, external_id="marker", geometry=Point(139.50005, 35.70001, srid=6668)
    )
    assert _zooms(parcel) == [13, 14, 15]
    assert _zooms(sliver) == []
    assert _zooms(marker) == list(range(16))
    row = GeneralisedFeature.objects.get(feature_id=parcel.pk, zoom=14)
    assert row.geometry.srid == 3857
    assert (row.external_id, row.layer_id) == ("parcel", parcels_layer.pk)

    # An edit closes the old version: its rows go, the new version's come, in one transaction.
    edited = services.edit_feature(
        layer=parcels_layer,
        external_id="parcel",
        geometry=box(139.5, 35.7, 139.51, 35.71),  # now 0.01°: a pixel wide from z8 (0.0055°)
        attributes={"chiban": "1-1"},
    )
    assert _zooms(parcel) == []
    assert _zooms(edited) == list(range(8, 16))
    assert GeneralisedFeature.objects.get(feature_id=edited.pk, zoom=9).attributes == {
        "chiban": "1-1"
    }


def test_every_feature_write_raises_the_layer_revision(parcels_layer):
    before = Layer.objects.get(pk=parcels_layer.pk)
    FeatureFactory(layer=parcels_layer, external_id="a", geometry=box(139.5, 35.7, 139.501, 35.701))
    after = Layer.objects.get(pk=parcels_layer.pk)
    assert after.revision == before.revision + 1
    assert after.updated_at >= before.updated_at


def test_refresh_is_idempotent_and_gives_what_the_triggers_gave(small_city, parcels_layer):
    def rows():
        return sorted(
            GeneralisedFeature.objects.filter(layer=parcels_layer).values_list(
                "feature_id", "zoom", "external_id"
            )
        )

    by_triggers = rows()
    assert by_triggers  # the two 90 m parcels, from z11 (0.00069°)
    revision = Layer.objects.get(pk=parcels_layer.pk).revision
    assert services.refresh_generalised(layer=parcels_layer) == len(by_triggers)
    assert services.refresh_generalised(layer=parcels_layer) == len(by_triggers)
    assert rows() == by_triggers
    assert Layer.objects.get(pk=parcels_layer.pk).revision == revision + 2


def test_a_low_zoom_tile_reads_only_its_zoom_of_the_generalised_table(parcels_layer):
    FeatureFactory(
        layer=parcels_layer,
        external_id="parcel",
        geometry=box(139.50010, 35.70000, 139.50043, 35.70027),
    )
    # Ten thousand slivers under the same tile: a z14 tile must not read them at all.
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO geo_feature (layer_id, external_id, geometry, attributes, valid_from)
               SELECT %s, 's' || i,
                      ST_MakeEnvelope(139.5 + (i %% 100) * 0.00003, 35.7 + (i / 100) * 0.00003,
                                      139.5 + (i %% 100) * 0.00003 + 0.00002,
                                      35.7 + (i / 100) * 0.00003 + 0.00002, 6668),
                      '{}', now()
                 FROM generate_series(1, 10000) AS i""",
            [parcels_layer.pk],
        )
    x, y = tile_of(139.5002, 35.70001, 14)
    with CaptureQueriesContext(connection) as queries:
        tile = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, 14, x, y))
    (sql,) = _mvt_queries(queries.captured_queries)
    assert "geo_generalisedfeature" in sql and "geo_feature " not in sql
    assert [f.external_id for f in features_of_tile(tile["parcels"])] == ["parcel"]
    assert GeneralisedFeature.objects.filter(layer=parcels_layer).count() == 3  # z13–z15
    # Zoomed in past the generalised zooms, the slivers are drawn from geo_feature itself.
    x, y = tile_of(139.50001, 35.70001, 18)
    with CaptureQueriesContext(connection) as queries:
        tile = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, 18, x, y))
    (sql,) = _mvt_queries(queries.captured_queries)
    assert "geo_feature f" in sql
    assert len(tile["parcels"]["features"]) > 100


def test_a_tile_asked_for_again_comes_from_redis(clerk_client, small_city):
    x, y = tile_of(139.5005, 35.7005, 14)
    with CaptureQueriesContext(connection) as first_queries:
        first = clerk_client.get(tile_url("parcels", 14, x, y))
    with CaptureQueriesContext(connection) as again_queries:
        again = clerk_client.get(tile_url("parcels", 14, x, y))
    assert len(_mvt_queries(first_queries.captured_queries)) == 1
    assert _mvt_queries(again_queries.captured_queries) == []
    assert again.status_code == 200 and again.content == first.content
    chibans = sorted(
        f.attributes["chiban"]
        for f in features_of_tile(mapbox_vector_tile.decode(again.content)["parcels"])
    )
    assert chibans == ["本町1丁目1番1", "本町1丁目1番2"]


@pytest.mark.parametrize("z", [12, 17])
def test_a_cached_tile_changes_right_after_an_edit(client, small_city, z):
    roads = Layer.objects.get(slug="roads")
    x, y = tile_of(139.5005, 35.69991, z)

    def widths():
        # Each road's width as its version drawn in the tile has it (found by the tile
        # feature's id: an edit writes a new version, so a stale tile names the old one).
        tile = mapbox_vector_tile.decode(client.get(tile_url("roads", z, x, y)).content)
        return [f.attributes.get("width_m") for f in features_of_tile(tile["roads"])]

    assert widths() == [None]
    assert widths() == [None]  # now cached
    services.edit_feature(
        layer=roads,
        external_id="R1",
        geometry=small_city["road"].geometry,
        attributes={"width_m": 8},
    )
    assert widths() == [8]
    # A second road drawn straight into the table (no service) is seen at once too.
    FeatureFactory(
        layer=roads,
        external_id="R2",
        geometry=LineString((139.499, 35.69992), (139.503, 35.69992), srid=6668),
        attributes={"width_m": 4},
    )
    assert sorted(widths()) == [4, 8]


def test_a_tile_made_for_staff_is_never_served_to_a_resident(client, clerk, small_city):
    layer = Layer.objects.get(slug="parcels")  # staff only
    x, y = tile_of(139.5005, 35.7005, 14)
    client.force_login(clerk)
    staff_tile = client.get(tile_url("parcels", 14, x, y)).content
    staff_key = selectors.tile_cache_key(layer, audience="staff", z=14, x=x, y=y)
    from django.core.cache import cache

    assert cache.get(staff_key) == staff_tile
    # What staff alone may read is in the staff entry; residents are still refused.
    cache.set(staff_key, b"STAFF-ONLY")
    resident = UserFactory(role="resident")
    client.force_login(resident)
    assert client.get(tile_url("parcels", 14, x, y)).status_code == 403
    # Opened to the public without a feature write: the resident gets a tile of their own,
    # never the staff entry (which staff, asking again, still get).
    Layer.objects.filter(pk=layer.pk).update(visibility=Layer.Visibility.PUBLIC)
    opened = Layer.objects.get(pk=layer.pk)
    cache.set(selectors.tile_cache_key(opened, audience="staff", z=14, x=x, y=y), b"STAFF-ONLY")
    seen = client.get(tile_url("parcels", 14, x, y))
    assert seen.status_code == 200
    assert seen.content != b"STAFF-ONLY"
    assert mapbox_vector_tile.decode(seen.content)["parcels"]["features"]
    client.force_login(clerk)
    assert client.get(tile_url("parcels", 14, x, y)).content == b"STAFF-ONLY"


@pytest.mark.parametrize("z", [14, 18])
def test_a_tile_statement_clips_each_feature_once(parcels_layer, z):
    # ST_AsMVTGeom (clip, snap, validate: most of a tile's cost) used to appear twice in the
    # plan: `WHERE geom IS NOT NULL` over the inlined CTE became a filter computing it once
    # more for every candidate. ST_AsMVT skips rows whose geometry is NULL by itself.
    FeatureFactory(
        layer=parcels_layer,
        external_id="parcel",
        geometry=box(139.50010, 35.70000, 139.50043, 35.70027),
    )
    x, y = tile_of(139.5002, 35.70001, z)
    with CaptureQueriesContext(connection) as queries:
        selectors.layer_tile(parcels_layer, z, x, y)
    (sql,) = _mvt_queries(queries.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (VERBOSE, COSTS OFF) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.lower().count("st_asmvtgeom(") == 1, plan


# Web Mercator's square and one unit of a 4096-unit tile at z14.
_ORIGIN = -20037508.342789244
_Z14_UNIT = 40075016.685578488 / 2**14 / 4096


def test_generalised_rows_lie_on_their_zoom_tile_grid_valid_and_wound_for_tiles(parcels_layer):
    # So that a tile moves a feature inside it into tile units with one affine transform.
    feature = FeatureFactory(
        layer=parcels_layer,
        external_id="parcel",
        geometry=box(139.50011, 35.70003, 139.50047, 35.70029),
    )
    row = GeneralisedFeature.objects.get(feature_id=feature.pk, zoom=14)
    for x, y in row.geometry.coords[0]:
        assert abs((x - _ORIGIN) / _Z14_UNIT - round((x - _ORIGIN) / _Z14_UNIT)) < 1e-6
        assert abs((y - _ORIGIN) / _Z14_UNIT - round((y - _ORIGIN) / _Z14_UNIT)) < 1e-6
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_IsValid(geometry), ST_IsPolygonCW(geometry) FROM geo_generalisedfeature"
            " WHERE feature_id = %s AND zoom = 14",
            [feature.pk],
        )
        assert cursor.fetchone() == (True, True)


def _reference_tile(layer, z, x, y) -> bytes:
    # What a tile held before the grid rows: ST_AsMVTGeom over each feature in Web Mercator,
    # simplified to a quarter pixel (migration 0002), clipped and snapped per tile.
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc),
               rows AS (
                 SELECT ST_AsMVTGeom(
                          CASE WHEN ST_Dimension(f.geometry) = 0
                               THEN ST_Transform(f.geometry, 3857)
                               ELSE ST_SimplifyPreserveTopology(ST_Transform(f.geometry, 3857),
                                        40075016.686 / 256 / power(2, %(z)s) / 4) END,
                          bounds.merc, 4096, 64, true) AS geom,
                        f.id AS feature_id, f.external_id, f.attributes
                   FROM geo_feature f, bounds
                  WHERE f.layer_id = %(layer)s AND f.valid_to IS NULL
                    AND geo_generalised_first_zoom(f.geometry) <= %(z)s)
               SELECT ST_AsMVT(rows.*, %(slug)s, 4096, 'geom', 'feature_id') FROM rows""",
            {"z": z, "x": x, "y": y, "layer": layer.pk, "slug": layer.slug},
        )
        return bytes(cursor.fetchone()[0] or b"")


def test_a_grid_tile_draws_what_st_asmvtgeom_drew(parcels_layer):
    from shapely.geometry import shape

    x, y = tile_of(139.5005, 35.7005, 14)
    # Inside the tile: parcels, a polygon with a hole, a line, a point; and a parcel across
    # the tile's east edge (clipped by ST_AsMVTGeom as before).
    west, east = 139.5005 - 0.005, 139.5005 + 0.005
    edge_lon = (x + 1) / 2**14 * 360 - 180
    for i in range(5):
        FeatureFactory(
            layer=parcels_layer,
            external_id=f"p{i}",
            geometry=box(139.5 + i * 0.0005, 35.7, 139.50043 + i * 0.0005, 35.70027),
            attributes={"chiban": f"1-{i}"},
        )
    from django.contrib.gis.geos import Polygon

    FeatureFactory(
        layer=parcels_layer,
        external_id="holed",
        geometry=Polygon(
            (
                (139.503, 35.701),
                (139.505, 35.701),
                (139.505, 35.703),
                (139.503, 35.703),
                (139.503, 35.701),
            ),
            (
                (139.5037, 35.7017),
                (139.5043, 35.7017),
                (139.5043, 35.7023),
                (139.5037, 35.7023),
                (139.5037, 35.7017),
            ),
            srid=6668,
        ),
    )
    FeatureFactory(
        layer=parcels_layer,
        external_id="line",
        geometry=LineString((west + 0.002, 35.7015), (139.5009, 35.7031), srid=6668),
    )
    FeatureFactory(
        layer=parcels_layer, external_id="point", geometry=Point(139.5021, 35.7033, srid=6668)
    )
    FeatureFactory(
        layer=parcels_layer,
        external_id="across",
        geometry=box(edge_lon - 0.001, 35.7, edge_lon + 0.001, 35.701),
    )
    assert east > edge_lon > west
    made = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, 14, x, y))["parcels"]
    reference = mapbox_vector_tile.decode(_reference_tile(parcels_layer, 14, x, y))["parcels"]

    def shapes(layer):
        return {
            feature.external_id: (shape(f["geometry"]).normalize(), f["id"])
            for f, feature in zip(layer["features"], features_of_tile(layer), strict=True)
        }

    made_shapes, reference_shapes = shapes(made), shapes(reference)
    assert (
        set(made_shapes)
        == set(reference_shapes)
        == {"p0", "p1", "p2", "p3", "p4", "holed", "line", "point", "across"}
    )
    for key, (geometry, feature_id) in reference_shapes.items():
        # Same vertices (within the one unit a rounding may move them), same winding (the
        # normalised rings compare equal only if holes stayed holes), same feature.
        assert made_shapes[key][0].equals_exact(geometry, 1.0), key
        assert made_shapes[key][1] == feature_id
    assert len(made_shapes["holed"][0].interiors) == 1


def test_tile_reads_of_the_generalised_table_are_not_parallel():
    # A parallel scan starts a worker (loading PostGIS) per tile: that was the whole cost of
    # an empty z14 tile at 100,000 parcels (bench/README.md, tiles).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'geo_generalisedfeature'::regclass"
        )
        assert "parallel_workers=0" in (cursor.fetchone()[0] or [])


def test_a_low_zoom_tile_carries_feature_ids_without_properties(clerk_client, small_city):
    # Below z16 the map pages read no property (a layer is styled as a whole, a click is a
    # point query), and encoding them was half of a dense z14 tile's cost.
    x, y = tile_of(139.5005, 35.7005, 14)
    low = mapbox_vector_tile.decode(clerk_client.get(tile_url("parcels", 14, x, y)).content)
    assert sorted(f["id"] for f in low["parcels"]["features"]) == sorted(
        [small_city["west"].pk, small_city["east"].pk]
    )
    assert [f["properties"] for f in low["parcels"]["features"]] == [{}, {}]
    # From z16 a tile carries each feature's external id and attributes again.
    x, y = tile_of(139.5005, 35.7005, 16)
    near = mapbox_vector_tile.decode(clerk_client.get(tile_url("parcels", 16, x, y)).content)
    assert sorted(f["properties"]["chiban"] for f in near["parcels"]["features"]) == [
        "本町1丁目1番1",
        "本町1丁目1番2",
    ]
    assert {f["properties"]["external_id"] for f in near["parcels"]["features"]} == {
        "本町1丁目1番1",
        "本町1丁目1番2",
    }
