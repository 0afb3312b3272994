"""A full-detail tile (z16 and up, geo_feature) moves a feature lying wholly inside the tile into
tile units itself instead of calling ST_AsMVTGeom, and draws it as ST_AsMVTGeom would: the
same shapes (rings wound the same way, the same vertices dropped), ids and properties."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from factories_gis import FeatureFactory
from shapely import LinearRing, wkt
from shapely.geometry import shape
from test_tile_budget import tile_bounds, tile_of

from gis import selectors

pytestmark = pytest.mark.django_db

Z = 18
X, Y = tile_of(139.50031, 35.70021, Z)
WEST, SOUTH, EAST, NORTH = tile_bounds(Z, X, Y)


def _at(fx: float, fy: float) -> str:
    """A point at a fraction of the tile's width and height from its south-west corner."""
    return f"{WEST + (EAST - WEST) * fx} {SOUTH + (NORTH - SOUTH) * fy}"


def _ring(*corners: tuple[float, float]) -> str:
    return ", ".join(_at(*c) for c in (*corners, corners[0]))


def _circle(cx: float, cy: float, r: float, n: int) -> str:
    return _ring(
        *[
            (cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n))
            for i in range(n)
        ]
    )


INSIDE = {
    "clockwise": f"POLYGON(({_ring((0.1, 0.1), (0.1, 0.2), (0.2, 0.2), (0.2, 0.1))}))",
    "counter-clockwise": f"POLYGON(({_ring((0.3, 0.1), (0.4, 0.1), (0.4, 0.2), (0.3, 0.2))}))",
    "with a hole": (
        f"POLYGON(({_ring((0.5, 0.1), (0.8, 0.1), (0.8, 0.4), (0.5, 0.4))}),"
        f"({_ring((0.6, 0.2), (0.7, 0.2), (0.7, 0.3), (0.6, 0.3))}))"
    ),
    "multipolygon": (
        f"MULTIPOLYGON((({_ring((0.1, 0.5), (0.2, 0.5), (0.2, 0.6), (0.1, 0.6))})),"
        f"(({_ring((0.25, 0.5), (0.35, 0.5), (0.35, 0.6), (0.25, 0.6))})))"
    ),
    # 2,000 vertices on a circle ~100 tile units across: most lie within half a unit of the
    # chord of their neighbours, which ST_AsMVTGeom's simplification drops.
    "dense vertices": f"POLYGON(({_circle(0.5, 0.7, 0.012, 2000)}))",
    "line with repeated points": (
        f"LINESTRING({_at(0.1, 0.8)}, {_at(0.1, 0.8)}, {_at(0.2, 0.85)}, {_at(0.2000001, 0.85)}, "
        f"{_at(0.3, 0.8)})"
    ),
    "point": f"POINT({_at(0.45, 0.45)})",
    "multipoint": f"MULTIPOINT({_at(0.46, 0.46)}, {_at(0.47, 0.48)})",
}
ACROSS = {
    "polygon across the east edge": (
        f"POLYGON(({_ring((0.9, 0.1), (1.3, 0.1), (1.3, 0.3), (0.9, 0.3))}))"
    ),
    "line across the north edge": f"LINESTRING({_at(0.6, 0.9)}, {_at(0.7, 1.4)})",
}


@pytest.fixture
def drawn(parcels_layer):
    for name, text in (INSIDE | ACROSS).items():
        FeatureFactory(
            layer=parcels_layer,
            external_id=name,
            geometry=GEOSGeometry(text, srid=6668),
            attributes={"name": name, "lot": len(name), "area_m2": 12.5},
        )
    return parcels_layer


def _reference_tile(layer) -> bytes:
    # Every feature through ST_AsMVTGeom, as full-detail tiles were made before the fast path.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ST_AsMVT(rows.*, %(slug)s, 4096, 'geom', 'feature_id')
              FROM (SELECT ST_AsMVTGeom(ST_Transform(f.geometry, 3857),
                                        ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true)
                               AS geom,
                           f.id AS feature_id, f.external_id, f.attributes
                      FROM geo_feature f
                     WHERE f.layer_id = %(layer)s AND f.valid_to IS NULL) AS rows
            """,
            {"slug": layer.slug, "z": Z, "x": X, "y": Y, "layer": layer.pk},
        )
        return bytes(cursor.fetchone()[0])


def _as_drawn(data: bytes, slug: str) -> dict:
    """Each feature's shape (normalised: a ring may start at another vertex), the winding of
    its rings as written, its properties, by id."""
    drawn = {}
    for feature in mapbox_vector_tile.decode(data)[slug]["features"]:
        geometry = shape(feature["geometry"])
        parts = getattr(geometry, "geoms", [geometry])
        windings = tuple(
            (
                LinearRing(part.exterior.coords).is_ccw,
                *(LinearRing(i.coords).is_ccw for i in part.interiors),
            )
            for part in parts
            if hasattr(part, "exterior")
        )
        vertices = sum(len(part.exterior.coords) for part in parts if hasattr(part, "exterior"))
        drawn[feature["id"]] = (
            geometry.normalize().wkt,
            windings,
            vertices,
            feature["properties"],
        )
    return drawn


def test_a_full_detail_tile_draws_what_st_asmvtgeom_draws(drawn):
    tile = _as_drawn(selectors.layer_tile(drawn, Z, X, Y), drawn.slug)
    reference = _as_drawn(_reference_tile(drawn), drawn.slug)
    assert len(tile) == len(INSIDE) + len(ACROSS)
    dense = next(k for k, v in tile.items() if v[3]["name"] == "dense vertices")
    # Vertices closer than a tile unit: both drop most of the 2,000; wagyu rebuilds the
    # snapped ring as steps along the grid, the fast path simplifies before snapping. Snapping
    # alone moves a vertex up to half a unit's diagonal, so two faithful outlines may lie up to
    # √2 units apart (a tile unit is 1/16 of a screen pixel).
    ours, theirs = tile.pop(dense), reference.pop(dense)
    assert ours[1] == theirs[1] and ours[3] == theirs[3]
    assert ours[2] < 500 and theirs[2] < 500
    assert wkt.loads(ours[0]).hausdorff_distance(wkt.loads(theirs[0])) <= math.sqrt(2)
    # Everything else is the same shape, wound the same way, with the same properties.
    assert tile == reference


def test_features_inside_a_full_detail_tile_skip_st_asmvtgeom(drawn):
    # Counted by PostgreSQL's own function statistics for this transaction (track_functions
    # counts C functions too): only the features crossing the tile's edge need clipping.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'all'")
    selectors.layer_tile(drawn, Z, X, Y)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
            "WHERE funcname = 'st_asmvtgeom'"
        )
        (calls,) = cursor.fetchone()
    assert calls == len(ACROSS)
