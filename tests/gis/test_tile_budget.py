"""The tile feature budget: a z16/z17 tile holding more features than a tile should draw draws
the counted cells where they lie (geo_tilecell, kept by triggers) instead of every feature;
from z18 on every feature is drawn."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from factories_gis import FeatureFactory, box

from gis import selectors, services
from gis.models import Feature, TileCell

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2**z

    def lat(row):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def tile_url(slug, z, x, y):
    return f"/gis/tiles/{slug}/{z}/{x}/{y}.pbf"


# A z16 tile a little east of the test city, and a dense block inside it: 80 × 60 = 4,800
# parcels of ~2.5 m × 2.5 m (the bench's dense city packs ~12 m² parcels the same way).
Z16 = tile_of(139.5005, 35.7005, 16)
COLS, ROWS = 80, 60
STEP = 0.00003


def _dense_block(layer) -> tuple[float, float, float, float]:
    west, south, east, north = tile_bounds(16, *Z16)
    x0, y0 = west + (east - west) * 0.2, south + (north - south) * 0.2
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO geo_feature (layer_id, external_id, geometry, attributes, valid_from)
               SELECT %(layer)s, 'd' || i,
                      ST_MakeEnvelope(%(x0)s + (i %% %(cols)s) * %(step)s,
                                      %(y0)s + (i / %(cols)s) * %(step)s,
                                      %(x0)s + (i %% %(cols)s) * %(step)s + %(size)s,
                                      %(y0)s + (i / %(cols)s) * %(step)s + %(size)s, 6668),
                      jsonb_build_object('chiban', 'd' || i), now()
                 FROM generate_series(0, %(n)s - 1) AS i""",
            {
                "layer": layer.pk,
                "x0": x0,
                "y0": y0,
                "cols": COLS,
                "step": STEP,
                "size": STEP * 0.9,
                "n": COLS * ROWS,
            },
        )
    return x0, y0, x0 + COLS * STEP, y0 + ROWS * STEP


def _counts_from_features(layer) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for feature in Feature.objects.filter(layer=layer, valid_to__isnull=True):
        xmin, ymin, xmax, ymax = feature.geometry.extent
        cell = tile_of((xmin + xmax) / 2, (ymin + ymax) / 2, selectors.CELL_ZOOM)
        counts[cell] = counts.get(cell, 0) + 1
    return counts


def _counts_in_table(layer) -> dict[tuple[int, int], int]:
    return {(c.x, c.y): c.features for c in TileCell.objects.filter(layer=layer) if c.features}


def test_cell_counts_follow_every_feature_write(parcels_layer):
    a = FeatureFactory(
        layer=parcels_layer, external_id="a", geometry=box(139.50010, 35.70000, 139.50013, 35.70003)
    )
    FeatureFactory(
        layer=parcels_layer, external_id="b", geometry=box(139.50011, 35.70001, 139.50014, 35.70004)
    )
    assert sum(_counts_in_table(parcels_layer).values()) == 2
    assert _counts_in_table(parcels_layer) == _counts_from_features(parcels_layer)
    # An edit moves "a" far away: its old cell loses it, a new cell gains it.
    services.edit_feature(
        layer=parcels_layer,
        external_id="a",
        geometry=box(139.6, 35.8, 139.60003, 35.80003),
        attributes={},
    )
    assert _counts_in_table(parcels_layer) == _counts_from_features(parcels_layer)
    assert len(_counts_in_table(parcels_layer)) == 2
    Feature.objects.filter(layer=parcels_layer, external_id="b").delete()
    Feature.objects.filter(pk=a.pk).delete()  # a closed version: counted nowhere
    assert _counts_in_table(parcels_layer) == _counts_from_features(parcels_layer)
    assert sum(_counts_in_table(parcels_layer).values()) == 1
    # The emptied cell's row is gone, and a rebuild gives what the triggers gave.
    assert TileCell.objects.filter(layer=parcels_layer).count() == 1
    services.refresh_generalised(layer=parcels_layer)
    assert _counts_in_table(parcels_layer) == _counts_from_features(parcels_layer)


def test_a_dense_z16_tile_stays_under_the_budget_and_still_shows_the_area(parcels_layer):
    west, south, east, north = _dense_block(parcels_layer)
    assert COLS * ROWS > selectors.TILE_FEATURE_BUDGET
    data = selectors.layer_tile(parcels_layer, 16, *Z16)
    features = mapbox_vector_tile.decode(data)["parcels"]["features"]
    assert 0 < len(features) <= selectors.TILE_FEATURE_BUDGET
    # Every parcel is counted in one of the squares drawn.
    assert sum(f["properties"]["features"] for f in features) == COLS * ROWS
    # The squares cover the block: their union (in tile units, y down) spans it.
    tw, ts, te, tn = tile_bounds(16, *Z16)
    xs = [x for f in features for ring in f["geometry"]["coordinates"] for x, _y in ring]
    ys = [y for f in features for ring in f["geometry"]["coordinates"] for _x, y in ring]
    # mapbox_vector_tile flips y to point up by default: units grow north.
    assert min(xs) <= (west - tw) / (te - tw) * 4096 and max(xs) >= (east - tw) / (te - tw) * 4096
    assert min(ys) <= (south - ts) / (tn - ts) * 4096 + 1
    assert max(ys) >= (north - ts) / (tn - ts) * 4096 - 1
    # Zoomed in to z18 every parcel is drawn, with its own attributes.
    x18, y18 = tile_of(west + 0.0003, south + 0.0003, 18)
    detail = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, 18, x18, y18))
    parcels = detail["parcels"]["features"]
    assert len(parcels) > 100
    assert all(p["properties"]["chiban"].startswith("d") for p in parcels)


def test_a_sparse_z16_tile_still_draws_each_feature(parcels_layer):
    FeatureFactory(
        layer=parcels_layer,
        external_id="p",
        geometry=box(139.50010, 35.70000, 139.50043, 35.70027),
        attributes={"chiban": "1-1"},
    )
    x, y = tile_of(139.5002, 35.70001, 16)
    features = mapbox_vector_tile.decode(selectors.layer_tile(parcels_layer, 16, x, y))
    assert [f["properties"]["chiban"] for f in features["parcels"]["features"]] == ["1-1"]


def test_a_parcel_edit_shows_on_the_next_dense_tile(clerk_client, parcels_layer):
    west, south, _east, _north = _dense_block(parcels_layer)

    def counted() -> int:
        response = clerk_client.get(tile_url("parcels", 16, *Z16))
        assert response.status_code == 200
        tile = mapbox_vector_tile.decode(response.content)
        return sum(f["properties"]["features"] for f in tile["parcels"]["features"])

    assert counted() == COLS * ROWS
    assert counted() == COLS * ROWS  # from Redis now
    services.edit_feature(
        layer=parcels_layer,
        external_id="new-lot",
        geometry=box(west, south, west + 0.00002, south + 0.00002),
        attributes={"chiban": "new"},
    )
    assert counted() == COLS * ROWS + 1
    Feature.objects.filter(layer=parcels_layer, external_id__in=["d0", "d1"]).delete()
    assert counted() == COLS * ROWS - 1


def test_a_full_detail_tile_never_starts_a_parallel_worker(parcels_layer):
    # A worker must load PostGIS before it helps: for a tile of a few thousand parcels its
    # start-up cost more than it saved (a z18 tile: 156 ms with one, ~45 ms serial).
    _dense_block(parcels_layer)
    west, south, _east, _north = tile_bounds(16, *Z16)
    x18, y18 = tile_of(
        west + (_east - west) * 0.2 + 0.0003, south + (_north - south) * 0.2 + 0.0003, 18
    )
    with connection.cursor() as cursor:
        # Make a parallel plan as cheap as it can be, so that the planner picks one if allowed.
        cursor.execute(
            "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
            "SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0; "
            # A bitmap heap scan, as at a million parcels (a plain GiST scan is never parallel).
            "SET enable_indexscan = off; ANALYZE geo_feature"
        )

    def plan(select: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + select)
            return "\n".join(row[0] for row in cursor.fetchall())

    # In a savepoint rolled back: the tile's SET LOCAL lasts to the end of the transaction it
    # ran in, so the plan read right after it is the one the tile statement got.
    with pytest.raises(_Rollback), transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            selectors.layer_tile(parcels_layer, 18, x18, y18)
        (select,) = [q["sql"] for q in queries.captured_queries if "ST_AsMVT(" in q["sql"]]
        assert "Gather" not in plan(select)
        raise _Rollback
    assert "Gather" in plan(select)  # what the same statement gets without the setting


class _Rollback(Exception):
    pass
