"""Spatial reads other code may use: point, distance and intersection queries, districts,
parcels of addresses, and layers as GeoJSON or Mapbox Vector Tiles.

GeoJSON and tiles are built by PostGIS (json_agg/ST_AsGeoJSON, ST_AsMVT); Python only passes the
bytes on (DESIGN.md §6: never serialise features row by row in Python).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import get_language

from cityhall.roles import is_staff_member

from .coords import JGD2011_GEOGRAPHIC
from .garbage import describe_rule, parse_rule
from .geocoding import address_key_from_text
from .models import AddressPoint, Feature, GarbageDistrict, Layer
from .tiles import (  # noqa: F401 - map tiles (gis/tiles.py), read by other code from here
    CELL_ZOOM,
    FULL_DETAIL_ZOOM,
    GENERALISED_BELOW_ZOOM,
    MAX_TILE_ZOOM,
    TILE_CACHE_SECONDS,
    TILE_FEATURE_BUDGET,
    TILE_FORMAT,
    cached_layer_tile,
    layer_tile,
    tile_audience,
    tile_cache_key,
    tile_is_valid,
)

# Metres per degree of latitude; longitude degrees shrink with cos(latitude).
_METRES_PER_DEGREE = 111_320.0


def _as_6668(geometry: GEOSGeometry) -> GEOSGeometry:
    if geometry.srid is None:
        geometry = geometry.clone()
        geometry.srid = JGD2011_GEOGRAPHIC
    elif geometry.srid != JGD2011_GEOGRAPHIC:
        geometry = geometry.transform(JGD2011_GEOGRAPHIC, clone=True)
    return geometry


def point(lon: float, lat: float) -> Point:
    return Point(float(lon), float(lat), srid=JGD2011_GEOGRAPHIC)


def current_features(layers: Iterable[str] | None = None, *, kinds: Iterable[str] | None = None):
    """Current versions of features, optionally only in the layers with these slugs or kinds."""
    qs = Feature.objects.filter(valid_to__isnull=True).select_related("layer")
    if layers is not None:
        qs = qs.filter(layer__slug__in=list(layers))
    if kinds is not None:
        qs = qs.filter(layer__kind__in=list(kinds))
    return qs


def visible_layers(user) -> QuerySet[Layer]:
    """Layers a user may see: public ones for everybody, all of them for staff."""
    qs = Layer.objects.all()
    if can_see_staff_layers(user):
        return qs
    return qs.filter(visibility=Layer.Visibility.PUBLIC)


def can_see_staff_layers(user) -> bool:
    """Staff with the permission and MFA set up: tiles and GeoJSON live outside the /staff/
    door, so the MFA rule of that door is applied here too."""
    from cityhall.middleware import user_has_mfa

    return is_staff_member(user) and user.has_perm("geo.view_staff_layers") and user_has_mfa(user)


def can_see_layer(user, layer: Layer) -> bool:
    return layer.is_public or can_see_staff_layers(user)


def features_at_point(
    at: Point, *, layers: Iterable[str] | None = None, kinds: Iterable[str] | None = None
) -> QuerySet[Feature]:
    """Current features whose geometry contains (or touches) the point."""
    return current_features(layers, kinds=kinds).filter(geometry__intersects=_as_6668(at))


def features_within_distance(
    at: Point,
    metres: float,
    *,
    layers: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> QuerySet[Feature]:
    """Current features within `metres` of the point on the ellipsoid, nearest first, each
    annotated with `distance` (a Distance; `.m` gives metres).

    The degree box around the point lets the GiST index pick candidates before the exact
    spheroidal distance decides."""
    at = _as_6668(at)
    lat_margin = metres / _METRES_PER_DEGREE
    lon_margin = lat_margin / max(math.cos(math.radians(at.y)), 0.01)
    return (
        current_features(layers, kinds=kinds)
        .filter(geometry__dwithin=(at, max(lat_margin, lon_margin)))
        .annotate(distance=Distance("geometry", at))
        .filter(distance__lte=metres)
        .order_by("distance", "id")
    )


def features_intersecting(
    geometry: GEOSGeometry,
    *,
    layers: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> QuerySet[Feature]:
    return current_features(layers, kinds=kinds).filter(geometry__intersects=_as_6668(geometry))


UNDER_ROAD_KINDS = (Layer.Kind.PARCELS, Layer.Kind.WATER_PIPES, Layer.Kind.SEWER_PIPES)


def under_road_section(road: Feature, buffer_metres: float = 5.0) -> dict[str, list[Feature]]:
    """What lies under a road section: parcels, water and sewer pipes intersecting the road
    buffered by `buffer_metres` (on the ellipsoid), grouped by layer kind."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH zone AS (
                SELECT ST_SetSRID(ST_Buffer(geometry::geography, %s)::geometry, 6668) AS geom
                  FROM geo_feature WHERE id = %s
            )
            SELECT f.id FROM geo_feature f JOIN geo_layer l ON l.id = f.layer_id, zone
             WHERE f.valid_to IS NULL AND l.kind = ANY(%s) AND f.id <> %s
               AND ST_Intersects(f.geometry, zone.geom)
            """,
            [float(buffer_metres), road.pk, list(UNDER_ROAD_KINDS), road.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
    grouped: dict[str, list[Feature]] = {str(kind): [] for kind in UNDER_ROAD_KINDS}
    for feature in (
        Feature.objects.filter(id__in=ids)
        .select_related("layer")
        .order_by("layer__kind", "external_id")
    ):
        grouped[feature.layer.kind].append(feature)
    return grouped


def district_of_point(kind: str, at: Point) -> Feature | None:
    """The district (of a districts_* layer kind) the point falls in, or None."""
    return features_at_point(at, kinds=[kind]).order_by("id").first()


def hazard_zones_at(at: Point) -> QuerySet[Feature]:
    """The hazard zones (flood, landslide …) a point lies in: ST_Intersects on the GiST index."""
    return features_at_point(at, kinds=[Layer.Kind.HAZARD_ZONES]).order_by("layer__order", "id")


# Layers whose features carry a name worth writing on the map.
LABELLED_KINDS = (
    Layer.Kind.DISTRICTS_GARBAGE,
    Layer.Kind.DISTRICTS_SCHOOL,
    Layer.Kind.DISTRICTS_POLLING,
    Layer.Kind.FACILITIES,
)


def map_labels(layers: Iterable[Layer], *, limit: int = 1000) -> list[dict]:
    """Where to write the names of districts and facilities: a point surely inside each
    feature (ST_PointOnSurface, not the centroid, which may fall outside an L-shaped district),
    computed by PostGIS for the current features of the given layers."""
    ids = [layer.pk for layer in layers if layer.kind in LABELLED_KINDS]
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT l.slug, l.kind, f.attributes->>'name', ST_X(p), ST_Y(p)
                 FROM geo_feature f JOIN geo_layer l ON l.id = f.layer_id
                 CROSS JOIN LATERAL ST_PointOnSurface(f.geometry) AS p
                WHERE f.layer_id = ANY(%s) AND f.valid_to IS NULL
                  AND coalesce(f.attributes->>'name', '') <> ''
                ORDER BY l."order", f.external_id
                LIMIT %s""",
            [ids, limit],
        )
        return [
            {"layer": slug, "kind": kind, "name": name, "lon": lon, "lat": lat}
            for slug, kind, name, lon, lat in cursor.fetchall()
        ]


def address_point(address_key: str) -> AddressPoint | None:
    if not address_key:
        return None
    return AddressPoint.objects.filter(address_key=address_key).first()


def parcel_of_address(address_key: str) -> Feature | None:
    """The current parcel (筆) under an address, by its AddressPoint's parcel key."""
    found = address_point(address_key)
    if found is None or not found.parcel_key:
        return None
    return (
        current_features(kinds=[Layer.Kind.PARCELS])
        .filter(external_id=found.parcel_key)
        .order_by("id")
        .first()
    )


def parcel_at_point(at: Point) -> Feature | None:
    return features_at_point(at, kinds=[Layer.Kind.PARCELS]).order_by("id").first()


def garbage_district_at(at: Point) -> GarbageDistrict | None:
    """The garbage district (with its schedules) the point lies in."""
    feature = district_of_point(Layer.Kind.DISTRICTS_GARBAGE, at)
    if feature is None:
        return None
    return (
        GarbageDistrict.objects.prefetch_related("schedules")
        .filter(code=feature.external_id)
        .first()
    )


# --- GeoJSON and vector tiles, built by PostGIS -------------------------------------------

_FEATURE_JSON = """json_build_object(
    'type', 'Feature', 'id', f.external_id,
    'geometry', ST_AsGeoJSON(f.geometry, 8)::json,
    'properties', f.attributes || jsonb_build_object('_layer', %(slug)s::text)
)"""


def layer_geojson(
    layer: Layer, *, bbox: tuple[float, float, float, float] | None = None, limit: int | None = None
) -> tuple[str, int]:
    """A FeatureCollection (text) of the layer's current features, optionally those meeting a
    lon/lat bbox (west, south, east, north), at most `limit`; and how many features it holds."""
    where = ["f.layer_id = %(layer)s", "f.valid_to IS NULL"]
    params: dict = {"layer": layer.pk, "slug": layer.slug, "limit": limit}
    if bbox is not None:
        where.append(
            f"f.geometry && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, {JGD2011_GEOGRAPHIC})"
        )
        params.update(zip("wsen", map(float, bbox), strict=True))
    sql = f"""
        SELECT json_build_object(
                   'type', 'FeatureCollection', 'name', %(slug)s::text,
                   'features', COALESCE(json_agg(feature ORDER BY external_id), '[]'::json)
               )::text, count(*)
          FROM (SELECT f.external_id, {_FEATURE_JSON} AS feature
                  FROM geo_feature f
                 WHERE {" AND ".join(where)}
                 ORDER BY f.external_id
                 {"LIMIT %(limit)s" if limit is not None else ""}) AS rows
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        text, count = cursor.fetchone()
    return text, count


def iter_layer_geojson(layer: Layer, *, chunk: int = 2000) -> Iterator[str]:
    """The whole layer as one FeatureCollection, in pieces of text, for exports of any size:
    PostGIS writes each feature's JSON, a server-side cursor streams them."""
    yield (
        '{"type": "FeatureCollection", "name": '
        + _sql_json_string(layer.slug)
        + ', "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6668"}}'
        + ', "features": [\n'
    )
    first = True
    with connection.chunked_cursor() as cursor:
        cursor.itersize = chunk
        cursor.execute(
            f"""SELECT {_FEATURE_JSON}::text FROM geo_feature f
                 WHERE f.layer_id = %(layer)s AND f.valid_to IS NULL ORDER BY f.external_id""",
            {"layer": layer.pk, "slug": layer.slug},
        )
        for (text,) in cursor:
            yield text if first else ",\n" + text
            first = False
    yield "\n]}\n"


def _sql_json_string(value: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_json(%s::text)::text", [value])
        return cursor.fetchone()[0]


def feature_detail(feature_id: int) -> Feature | None:
    return current_features().filter(pk=feature_id).first()


# --- garbage calendar ---------------------------------------------------------------------


def garbage_calendar(district: GarbageDistrict, *, after: date, count: int = 3) -> list[dict]:
    """For each garbage kind of a district: its label, the day tokens, the days in words (in
    the active language) and the next dates."""
    rows = []
    language = get_language() or "ja"
    for schedule in sorted(district.schedules.all(), key=lambda s: s.kind):
        rule = parse_rule(schedule.rule)
        rows.append(
            {
                "kind": schedule.kind,
                "label": str(schedule.get_kind_display()),
                "rule": schedule.rule,
                "rule_text": describe_rule(rule, lang=language),
                "next": rule.next_dates(after, count),
            }
        )
    return rows


def garbage_events(district: GarbageDistrict, *, start: date, end: date) -> list[tuple[date, str]]:
    """(date, garbage kind label) for every collection from start to end, both included."""
    events = []
    for schedule in district.schedules.all():
        label = str(schedule.get_kind_display())
        events += [(day, label) for day in parse_rule(schedule.rule).dates_between(start, end)]
    return events


def garbage_district_of_address(
    typed_address: str,
) -> tuple[AddressPoint | None, GarbageDistrict | None]:
    found = address_point(address_key_from_text(typed_address))
    if found is None:
        return None, None
    return found, garbage_district_at(found.point)


def extent(layers: Iterable[Layer]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the layers' current features, or None when empty."""
    ids = [layer.pk for layer in layers]
    if not ids:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
                 FROM (SELECT ST_Extent(geometry) AS e FROM geo_feature
                        WHERE layer_id = ANY(%s) AND valid_to IS NULL) AS x""",
            [ids],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else tuple(row)


def layer_summaries() -> list[Layer]:
    """Every layer with `feature_count` (current features)."""
    from django.db.models import Count, Q

    return list(
        Layer.objects.annotate(
            feature_count=Count("features", filter=Q(features__valid_to__isnull=True))
        ).order_by("order", "slug")
    )


def garbage_districts() -> QuerySet[GarbageDistrict]:
    """Every garbage district, by code."""
    return GarbageDistrict.objects.order_by("code")


def garbage_district_areas(codes: Iterable[str]) -> QuerySet[Feature]:
    """The current areas (districts_garbage features) of the districts with these codes; other
    apps test a point against them in SQL (ST_Intersects on the GiST index)."""
    return current_features(kinds=[Layer.Kind.DISTRICTS_GARBAGE]).filter(
        external_id__in=list(codes)
    )
