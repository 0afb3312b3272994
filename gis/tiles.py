"""Mapbox Vector Tiles of a layer's current features, made by PostGIS (ST_AsMVT) and kept in
Redis per layer revision and audience: generalised rows below z16, counted cells where a z16 or
z17 tile would hold too many features, every feature from z18 (DESIGN.md §6: PostGIS builds
the bytes, Python only passes them on). Reads gis.models and gis.coords. gis.selectors re-exports
the public names, so other code reads tiles beside the other spatial reads.
"""

from __future__ import annotations

from django.db import connection, transaction

from .coords import JGD2011_GEOGRAPHIC
from .models import Layer

MAX_TILE_ZOOM = 22


def tile_is_valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_TILE_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def layer_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """One Mapbox Vector Tile (layer name = the layer's slug, extent 4096) of the layer's
    current features, in Web Mercator. Empty (0 bytes, a valid tile) below the layer's
    min_zoom or where there is nothing."""
    if not tile_is_valid(z, x, y):
        raise ValueError(f"no tile {z}/{x}/{y}")
    if z < layer.min_zoom:
        return b""
    if z < GENERALISED_BELOW_ZOOM:
        return _generalised_tile(layer, z, x, y)
    if z < FULL_DETAIL_ZOOM and _features_in_tile(layer, z, x, y) > TILE_FEATURE_BUDGET:
        return _cell_tile(layer, z, x, y)
    return _full_detail_tile(layer, z, x, y)


# A tile's feature budget, as vector-tile makers keep one (tippecanoe drops the densest features
# below its maximum zoom so that no tile passes ~500 kB): a z16 or z17 tile holding more current
# features than this draws the squares of geo_tilecell where they lie (each with its count)
# instead. Such a tile is where features are a pixel or two across: 28,000 parcels of ~12 m²
# in a z16 tile cost ~190 ms of CPU and 2 MB, and drew a grey mass the squares draw as well.
# From FULL_DETAIL_ZOOM on every feature is drawn, whatever the count, so zooming in always
# reaches each parcel. 2,000 features make a tile of ~150 kB.
TILE_FEATURE_BUDGET = 2000
FULL_DETAIL_ZOOM = 18
# geo_tilecell counts features per tile of this zoom (migration 0004, CELLS = 2^20): 16 cells
# to a z16 tile's side, 8 to a z17's, ~30 m here.
CELL_ZOOM = 20
# geo_tilecell's index (tilecell_z16_idx) finds a tile's cells by their z16 tile.
_CELL_INDEX_ZOOM = 16


def _cell_range(z: int, x: int, y: int) -> dict:
    """The parameters naming the cells of tile z/x/y (GENERALISED_BELOW_ZOOM <= z <= CELL_ZOOM):
    its z16 ancestor (for the index) and the range of cell columns and rows it covers."""
    down, up = CELL_ZOOM - z, z - _CELL_INDEX_ZOOM
    return {
        "x16": x >> up,
        "y16": y >> up,
        "x0": x << down,
        "x1": ((x + 1) << down) - 1,
        "y0": y << down,
        "y1": ((y + 1) << down) - 1,
    }


_CELLS_OF_TILE = """
    FROM geo_tilecell c
   WHERE c.layer_id = %(layer)s AND c.x / 16 = %(x16)s AND c.y / 16 = %(y16)s
     AND c.x BETWEEN %(x0)s AND %(x1)s AND c.y BETWEEN %(y0)s AND %(y1)s
"""


def _features_in_tile(layer: Layer, z: int, x: int, y: int) -> int:
    """How many current features of the layer have their centre in the tile, from at most 256
    counted cells (geo_tilecell), without reading a feature."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT coalesce(sum(c.features), 0) {_CELLS_OF_TILE}",
            {"layer": layer.pk, **_cell_range(z, x, y)},
        )
        (count,) = cursor.fetchone()
    return int(count)


def _cell_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    # Each cell that holds features, as its square (a z20 tile: 16 px of a z16 tile) with the
    # number of features in it: the tile still shows where the features are, in a few hundred
    # squares at most.
    sql = f"""
        SELECT ST_AsMVT(rows.*, %(slug)s, 4096, 'geom')
          FROM (SELECT ST_AsMVTGeom(ST_TileEnvelope({CELL_ZOOM}, c.x, c.y),
                                    ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom,
                       c.features
                {_CELLS_OF_TILE} AND c.features > 0) AS rows
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"layer": layer.pk, "slug": layer.slug, "z": z, "x": x, "y": y} | _cell_range(z, x, y),
        )
        (data,) = cursor.fetchone()
    return bytes(data or b"")


# Both tile statements move a feature lying inside the tile into tile units the same way: one
# affine transform of the Web Mercator geometry (x right, y down, 4096 units a tile, the
# scales `sx` and `sy` computed once per tile in the `bounds` row from its `merc` envelope)
# and a snap to whole units, as ST_AsMVTGeom does before it clips.
_TILE_SCALES = """4096 / (ST_XMax(merc) - ST_XMin(merc)) AS sx,
                   4096 / (ST_YMax(merc) - ST_YMin(merc)) AS sy"""


def _in_tile_units(geometry: str) -> str:
    return f"""ST_SnapToGrid(ST_Affine({geometry}, bounds.sx, 0, 0, -bounds.sy,
                                           -ST_XMin(bounds.merc) * bounds.sx,
                                           ST_YMax(bounds.merc) * bounds.sy), 1)"""


# Below this zoom tiles read geo_generalisedfeature (kept by triggers, migration 0002): at z15
# a tile is ~1.2 km across, where a dense city's parcels start to fall below one pixel.
GENERALISED_BELOW_ZOOM = 16


def _generalised_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    # The zoom's own rows only: features smaller than a pixel at this zoom have none, so the
    # cost follows what the tile draws, not how many features lie under it.
    # The rows are already on this zoom's tile grid, valid and wound for a tile (migration
    # 0003), so a feature inside the tile only needs moving into tile units: one affine
    # transform (x right, y down, 4096 a tile) and a rounding that is exact on that grid.
    # Those crossing the tile's edge are clipped by ST_AsMVTGeom as before.
    # Each feature carries its id (the tile feature's id) and no properties: the map pages
    # style a layer as a whole and find what was clicked by a point query, so nothing reads
    # them here, while encoding them was half of a dense tile's cost (a 6,065-parcel z14
    # tile: 33 ms with external_id and the attributes' seven keys, 14 ms with the id alone;
    # 408 -> 139 kB). A client wanting properties zooms to z16, or reads the layer's GeoJSON
    # (api/gis/layers/<slug>/features/?bbox=) or the point query.
    sql = f"""
        WITH bounds AS (
            SELECT merc, wide,
                   {_TILE_SCALES}
              FROM (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc,
                           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625) AS wide
                   ) AS envelope
        ), rows AS (
            SELECT CASE WHEN g.geometry @ bounds.merc
                        THEN {_in_tile_units("g.geometry")}
                        ELSE ST_AsMVTGeom(g.geometry, bounds.merc, 4096, 64, true)
                   END AS geom,
                   g.feature_id
              FROM geo_generalisedfeature g, bounds
             -- Typed as the columns are: btree_gist has no cross-type operators, and with
             -- an int4 on the right the index would be used for the box alone.
             WHERE g.layer_id = %(layer)s::bigint AND g.zoom = %(z)s::smallint
               AND g.geometry && bounds.wide
        )
        -- No `WHERE geom IS NOT NULL`: the CTE is inlined, and that filter made PostgreSQL
        -- run ST_AsMVTGeom twice per feature. ST_AsMVT skips rows without a geometry itself.
        SELECT ST_AsMVT(rows.*, %(slug)s, 4096, 'geom', 'feature_id') FROM rows
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"z": z, "x": x, "y": y, "layer": layer.pk, "slug": layer.slug})
        (data,) = cursor.fetchone()
    return bytes(data or b"")


# What ST_AsMVTGeom does to a feature before the move into tile units: rings wound as it writes
# them, repeated points and vertices within half a tile unit dropped (`half_unit` in bounds).
_SIMPLIFIED_MERCATOR = """ST_Simplify(
                                         ST_RemoveRepeatedPoints(
                                             ST_Transform(ST_ForcePolygonCW(f.geometry), 3857),
                                             bounds.half_unit),
                                         bounds.half_unit, true)"""


def _full_detail_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    # Generalisation: a line or polygon whose bounding box is smaller than one screen pixel
    # (of a 256-pixel tile) at this zoom would draw as nothing, so it is left out before the
    # costly transform. Points are always kept.
    # A feature lying wholly inside the tile has nothing to clip, so it
    # skips ST_AsMVTGeom, whose clipping library (wagyu) rebuilds every polygon's rings even
    # when nothing is cut: that was ~10 ms of a 2,265-parcel z18 tile's ~30 ms of CPU. It gets
    # the same steps ST_AsMVTGeom takes before clipping, in the same order (PostGIS mvt.c,
    # mvt_geom): repeated points and vertices within half a tile unit dropped, the affine move
    # into tile units (x right, y down, 4096 a tile), the snap to whole units; and rings wound
    # as ST_AsMVTGeom writes them (exterior clockwise in y-up coordinates, which the transform
    # to Web Mercator keeps). A ring may start at another of its vertices than wagyu's: the
    # same ring for a reader. Features crossing the tile's edge go through ST_AsMVTGeom.
    pixel_degrees = 360.0 / (2**z) / 256
    sql = f"""
        WITH bounds AS (
            SELECT merc, geo,
                   -- The tile without its buffer, to test what lies inside: boxes compare
                   -- in single precision (up to ~1.4 m out in longitude here), less than
                   -- the 64-unit buffer at every full-detail zoom, so a feature passing the
                   -- test is one ST_AsMVTGeom would not clip either.
                   ST_Transform(merc, {JGD2011_GEOGRAPHIC}) AS inner_geo,
                   {_TILE_SCALES},
                   -- Half a tile unit in metres: the resolution ST_AsMVTGeom simplifies to.
                   (ST_XMax(merc) - ST_XMin(merc)) / 8192 AS half_unit
              FROM (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc,
                           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625),
                                        {JGD2011_GEOGRAPHIC}) AS geo
                   ) AS envelope
        ), rows AS (
            SELECT CASE WHEN f.geometry @ bounds.inner_geo
                        THEN {_in_tile_units(_SIMPLIFIED_MERCATOR)}
                        ELSE ST_AsMVTGeom(ST_Transform(f.geometry, 3857), bounds.merc,
                                          4096, 64, true)
                   END AS geom,
                   f.id AS feature_id, f.external_id, f.attributes
              FROM geo_feature f, bounds
             WHERE f.layer_id = %(layer)s AND f.valid_to IS NULL AND f.geometry && bounds.geo
               AND (ST_Dimension(f.geometry) = 0
                    OR ST_XMax(f.geometry) - ST_XMin(f.geometry) >= %(pixel)s
                    OR ST_YMax(f.geometry) - ST_YMin(f.geometry) >= %(pixel)s)
        )
        -- No `WHERE geom IS NOT NULL`: the CTE is inlined, and that filter made PostgreSQL
        -- run ST_AsMVTGeom twice per feature. ST_AsMVT skips rows without a geometry itself.
        SELECT ST_AsMVT(rows.*, %(slug)s, 4096, 'geom', 'feature_id') FROM rows
    """
    # Serial: with a few thousand candidates the planner starts a parallel worker, which must
    # load PostGIS before it helps (a 2,265-parcel z18 tile: 156 ms with a worker that built 1
    # of its rows, against ~45 ms serial). geo_feature's own setting is left alone for the
    # scans that do gain from workers (exports, checks without the index). SET LOCAL lasts to
    # the end of the transaction, hence the atomic block around the two statements.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(
            sql,
            {"z": z, "x": x, "y": y, "layer": layer.pk, "slug": layer.slug, "pixel": pixel_degrees},
        )
        (data,) = cursor.fetchone()
    return bytes(data or b"")


# A day: a tile's key names the layer's revision, so an edit makes the old tiles unreachable
# at once and the time-out only returns the memory of tiles nobody asks for any more.
TILE_CACHE_SECONDS = 24 * 60 * 60
# Raised when what a tile holds changes in code (its columns, the generalisation rule).
# 4: tiles below GENERALISED_BELOW_ZOOM carry feature ids without properties.
TILE_FORMAT = 4


def tile_audience(user) -> str:
    """Whom a cached tile was made for: staff who may see staff layers, or everybody else.
    Part of the cache key, so a tile made for staff is never what a resident is served."""
    from .selectors import can_see_staff_layers

    return "staff" if can_see_staff_layers(user) else "public"


def tile_cache_key(layer: Layer, *, audience: str, z: int, x: int, y: int) -> str:
    # The revision and updated_at are raised by every feature write (triggers, migration 0002);
    # updated_at also tells apart two databases whose layers share a primary key and revision
    # (a test database re-created next to the same Redis).
    return (
        f"gis:tile:{TILE_FORMAT}:{layer.slug}:{layer.pk}:{layer.revision}:"
        f"{layer.updated_at.timestamp():.6f}:{layer.min_zoom}:{layer.visibility}:{audience}:"
        f"{z}/{x}/{y}"
    )


def cached_layer_tile(layer: Layer, z: int, x: int, y: int, *, audience: str) -> bytes:
    """layer_tile through Redis, keyed by the layer's revision and the audience. The caller
    has already decided that this audience may see the layer."""
    from django.core.cache import cache

    key = tile_cache_key(layer, audience=audience, z=z, x=x, y=y)
    data = cache.get(key)
    if data is None:
        data = layer_tile(layer, z, x, y)
        cache.set(key, data, TILE_CACHE_SECONDS)
    return data
