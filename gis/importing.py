"""Import a layer from GeoJSON, Shapefile or GeoPackage, idempotently on the external id.

GDAL reads the file and reprojects to JGD2011 (EPSG:6668) in the traditional GIS axis order
(easting/longitude first), since the plane rectangular systems are defined northing first
(FORMATS.md §6). PostGIS then validates, repairs (ST_MakeValid) and compares the rows with the
current features in a few set-based statements, so a file of 100,000 parcels is not 100,000
round trips.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, SpatialReference
from django.contrib.gis.gdal.error import GDALException
from django.db import connection, transaction

from .coords import JGD2011_GEOGRAPHIC, PLANE_RECTANGULAR_SRIDS
from .models import Layer

WGS84 = 4326
ACCEPTED_SOURCE_SRIDS = frozenset([*PLANE_RECTANGULAR_SRIDS, WGS84, JGD2011_GEOGRAPHIC])
_ID_FIELDS = ("external_id", "id", "ID", "code")


class ImportError_(ValueError):  # noqa: N801 - "ImportError" is a builtin
    """The file as a whole cannot be imported (no layer, unknown reference system...)."""


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (row label, reason)
    repaired: list[tuple[str, str]] = field(default_factory=list)  # (external id, reason)

    def summary(self) -> str:
        return (
            f"read={self.read} created={self.created} updated={self.updated} "
            f"unchanged={self.unchanged} rejected={len(self.rejected)} "
            f"repaired={len(self.repaired)}"
        )


@dataclass
class _Row:
    number: int
    external_id: str
    wkb: bytes
    attributes: str  # JSON text


def _json_value(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def source_srs(layer, srid: int | None) -> SpatialReference:
    """The reference system of the file's layer, or the one forced with --srid."""
    if srid is not None:
        srs = SpatialReference(srid)
    else:
        srs = layer.srs
        if srs is None:
            raise ImportError_(
                "ファイルに座標参照系がありません。--srid で指定してください / "
                "The file has no coordinate reference system; give one with --srid"
            )
        code = srs.srid
        if code is None:
            srs.identify_epsg()
            code = srs.srid
        srid = code
    if srid not in ACCEPTED_SOURCE_SRIDS:
        raise ImportError_(
            f"座標参照系 EPSG:{srid} には対応していません（平面直角座標系 6669〜6687、"
            f"4326、6668 のみ） / EPSG:{srid} is not supported (use 6669–6687, 4326 or 6668)"
        )
    return SpatialReference(srid)


def read_rows(
    path: str | Path, *, srid: int | None = None, id_field: str | None = None
) -> Iterator[_Row | tuple[str, str]]:
    """Yield a _Row per readable feature, or (row label, reason) for one that is not."""
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise ImportError_(f"ファイルを読めません / Cannot read the file: {exc}") from exc
    if source.layer_count < 1:
        raise ImportError_("ファイルにレイヤがありません / The file has no layer")
    layer = source[0]
    transform = CoordTransform(source_srs(layer, srid), SpatialReference(JGD2011_GEOGRAPHIC))
    fields = list(layer.fields)
    id_name = id_field or next((name for name in _ID_FIELDS if name in fields), None)
    if id_field and id_field not in fields:
        raise ImportError_(f"属性 {id_field} がありません / The file has no field {id_field}")
    for number, feature in enumerate(layer, start=1):
        external_id = str(feature.get(id_name) if id_name else feature.fid).strip()
        label = f"{number} ({external_id})"
        if not external_id or external_id == "None":
            yield (label, "外部IDがありません / The row has no external id")
            continue
        try:
            geometry = feature.geom
        except GDALException:
            yield (label, "形状がありません / The row has no geometry")
            continue
        try:
            geometry.set_3d(False)
            geometry.transform(transform)
        except GDALException as exc:
            yield (label, f"座標変換に失敗しました / Reprojection failed: {exc}")
            continue
        attributes = {name: _json_value(feature.get(name)) for name in fields}
        yield _Row(
            number=number,
            external_id=external_id,
            wkb=bytes(geometry.wkb),
            attributes=json.dumps(attributes, ensure_ascii=False, sort_keys=True),
        )


_STAGE = """
CREATE TEMP TABLE gis_import_stage (
    n integer, external_id text, geom geometry, attributes jsonb,
    invalid_reason text, reject text, status text, feature_id bigint
) ON COMMIT DROP
"""

# Each statement works on the whole file at once. Repair keeps the input's dimension:
# a self-intersecting polygon becomes polygons, never the lines ST_MakeValid may add.
_CHECK = [
    """UPDATE gis_import_stage SET reject = '形状が空です / The geometry is empty'
        WHERE geom IS NULL OR ST_IsEmpty(geom)""",
    """UPDATE gis_import_stage s SET reject = '外部IDがファイル内で重複しています（行 ' || d.first
           || '） / The external id is repeated in the file (row ' || d.first || ')'
         FROM (SELECT n, min(n) OVER (PARTITION BY external_id) AS first FROM gis_import_stage) d
        WHERE d.n = s.n AND d.first <> s.n AND s.reject IS NULL""",
    """UPDATE gis_import_stage SET invalid_reason = ST_IsValidReason(geom)
        WHERE reject IS NULL AND NOT ST_IsValid(geom)""",
    """UPDATE gis_import_stage
          SET geom = ST_CollectionExtract(ST_MakeValid(geom), ST_Dimension(geom) + 1)
        WHERE invalid_reason IS NOT NULL""",
    """UPDATE gis_import_stage
          SET reject = '形状を修復できません（' || invalid_reason || '） / '
                       || 'The geometry cannot be repaired (' || invalid_reason || ')'
        WHERE invalid_reason IS NOT NULL AND (geom IS NULL OR ST_IsEmpty(geom) OR NOT ST_IsValid(geom))""",
    """UPDATE gis_import_stage s SET status = 'unchanged', feature_id = f.id
         FROM geo_feature f
        WHERE s.reject IS NULL AND f.layer_id = %(layer)s AND f.valid_to IS NULL
          AND f.external_id = s.external_id AND f.geometry = s.geom
          AND f.attributes = s.attributes""",
    """UPDATE gis_import_stage s SET status = 'updated', feature_id = f.id
         FROM geo_feature f
        WHERE s.reject IS NULL AND s.status IS NULL AND f.layer_id = %(layer)s
          AND f.valid_to IS NULL AND f.external_id = s.external_id""",
    """UPDATE gis_import_stage SET status = 'created' WHERE reject IS NULL AND status IS NULL""",
    """UPDATE geo_feature f SET valid_to = now()
         FROM gis_import_stage s WHERE s.status = 'updated' AND f.id = s.feature_id""",
    """INSERT INTO geo_feature (layer_id, external_id, geometry, attributes, valid_from)
       SELECT %(layer)s, external_id, geom, attributes, now() FROM gis_import_stage
        WHERE status IN ('created', 'updated') ORDER BY n""",
]


def import_layer(
    *, layer: Layer, path: str | Path, srid: int | None = None, id_field: str | None = None
) -> ImportReport:
    """Import the first layer of a GDAL-readable file into `layer`. Applying the same file
    twice has the effect of once: the second run reports every row unchanged."""
    from psycopg2.extras import execute_values

    report = ImportReport()
    rows: list[tuple] = []
    for item in read_rows(path, srid=srid, id_field=id_field):
        report.read += 1
        if isinstance(item, tuple):
            report.rejected.append(item)
            continue
        rows.append((item.number, item.external_id, item.wkb, item.attributes))
    with transaction.atomic(), connection.cursor() as cursor:
        # One import per layer at a time: the second waits for the first, then finds its rows.
        Layer.objects.select_for_update().filter(pk=layer.pk).first()
        cursor.execute("DROP TABLE IF EXISTS gis_import_stage")
        cursor.execute(_STAGE)
        execute_values(
            cursor.cursor,
            "INSERT INTO gis_import_stage (n, external_id, geom, attributes) VALUES %s",
            rows,
            template=f"(%s, %s, ST_SetSRID(ST_GeomFromWKB(%s), {JGD2011_GEOGRAPHIC}), %s::jsonb)",
            page_size=2000,
        )
        for statement in _CHECK:
            cursor.execute(statement, {"layer": layer.pk})
        cursor.execute(
            """SELECT n, external_id, reject, invalid_reason, status FROM gis_import_stage
               ORDER BY n"""
        )
        for n, external_id, reject, invalid_reason, status in cursor.fetchall():
            if reject:
                report.rejected.append((f"{n} ({external_id})", reject))
                continue
            if invalid_reason:
                report.repaired.append((external_id, invalid_reason))
            setattr(report, status, getattr(report, status) + 1)
        if report.created or report.updated:
            layer.revision += 1
            layer.save(update_fields=["revision", "updated_at"])
    report.rejected.sort(key=lambda item: int(item[0].split(" ", 1)[0]))
    return report
