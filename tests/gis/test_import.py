"""gis_import: reprojection, repair or rejection, idempotency, history; gis_export."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from factories_gis import LayerFactory

from gis import importing
from gis.models import Feature, Layer

# GRS80 (JGD2011) and zone IX of the plane rectangular system (EPSG:6677): origin 36°N,
# 139°50'E, scale 0.9999 (国土交通省告示 平面直角座標系). The origin maps to (0, 0).
GRS80_A = 6378137.0
GRS80_F = 1 / 298.257222101
ZONE_IX_ORIGIN = (math.radians(36.0), math.radians(139 + 50 / 60))
M0 = 0.9999


def plane_to_geographic(northing: float, easting: float, origin=ZONE_IX_ORIGIN):
    """Inverse Gauss–Krüger, the series the GSI publishes for its survey calculation site
    (河瀬 2011), written out independently of PROJ/GDAL. Returns (lon, lat) in degrees."""
    phi0, lam0 = origin
    n = GRS80_F / (2 - GRS80_F)
    a_coef = [
        1 + n**2 / 4 + n**4 / 64,
        -3 / 2 * (n - n**3 / 8 - n**5 / 64),
        15 / 16 * (n**2 - n**4 / 4),
        -35 / 48 * (n**3 - 5 / 16 * n**5),
        315 / 512 * n**4,
        -693 / 1280 * n**5,
    ]
    beta = [
        n / 2 - 2 * n**2 / 3 + 37 * n**3 / 96 - n**4 / 360 - 81 * n**5 / 512,
        n**2 / 48 + n**3 / 15 - 437 * n**4 / 1440 + 46 * n**5 / 105,
        17 * n**3 / 480 - 37 * n**4 / 840 - 209 * n**5 / 4480,
        4397 * n**4 / 161280 - 11 * n**5 / 504,
        4583 * n**5 / 161280,
    ]
    delta = [
        2 * n - 2 * n**2 / 3 - 2 * n**3 + 116 * n**4 / 45 + 26 * n**5 / 45,
        7 * n**2 / 3 - 8 * n**3 / 5 - 227 * n**4 / 45 + 2704 * n**5 / 315,
        56 * n**3 / 15 - 136 * n**4 / 35 - 1262 * n**5 / 105,
        4279 * n**4 / 630 - 332 * n**5 / 35,
        4174 * n**5 / 315,
    ]
    scale = M0 * GRS80_A / (1 + n)
    a_bar = scale * a_coef[0]
    s_phi0 = scale * (
        a_coef[0] * phi0 + sum(a_coef[j] * math.sin(2 * j * phi0) for j in range(1, 6))
    )
    xi = (northing + s_phi0) / a_bar
    eta = easting / a_bar
    xi2 = xi - sum(b * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, b in enumerate(beta, 1))
    eta2 = eta - sum(
        b * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, b in enumerate(beta, 1)
    )
    chi = math.asin(math.sin(xi2) / math.cosh(eta2))
    phi = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(delta, 1))
    lam = lam0 + math.atan(math.sinh(eta2) / math.cos(xi2))
    return math.degrees(lam), math.degrees(phi)


def write_geojson(tmp_path, features, *, crs: int | None = None, name="data.geojson"):
    doc = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def feature(external_id, geometry, **props):
    return {"type": "Feature", "properties": {"id": external_id, **props}, "geometry": geometry}


def square(west, south, size=0.001):
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [west, south],
                [west + size, south],
                [west + size, south + size],
                [west, south + size],
                [west, south],
            ]
        ],
    }


def run_import(layer, path, *args):
    out = StringIO()
    call_command("gis_import", layer.slug, str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def layer(db):
    return LayerFactory(slug="import-target", kind=Layer.Kind.PARCELS)


def test_the_series_reproduces_the_published_origin():
    # The zone's origin is (0, 0) by definition: the series itself is right before we use it.
    lon, lat = plane_to_geographic(0.0, 0.0)
    assert lon == pytest.approx(139 + 50 / 60, abs=1e-12)
    assert lat == pytest.approx(36.0, abs=1e-12)


def test_points_in_epsg_6677_land_at_their_jgd2011_position(layer, tmp_path):
    # GeoJSON coordinates are easting, northing (x, y) although EPSG:6677 lists northing first.
    path = write_geojson(
        tmp_path,
        [
            feature("origin", {"type": "Point", "coordinates": [0.0, 0.0]}),
            feature("ne", {"type": "Point", "coordinates": [20000.0, 10000.0]}),
            feature("sw", {"type": "Point", "coordinates": [-35000.0, -42000.0]}),
        ],
        crs=6677,
    )
    output = run_import(layer, path)
    assert "created=3" in output
    placed = {f.external_id: f.geometry for f in Feature.objects.filter(layer=layer)}
    assert placed["origin"].srid == 6668
    assert placed["origin"].x == pytest.approx(139.8333333333, abs=1e-7)
    assert placed["origin"].y == pytest.approx(36.0, abs=1e-7)
    for name, (easting, northing) in {"ne": (20000, 10000), "sw": (-35000, -42000)}.items():
        lon, lat = plane_to_geographic(northing, easting)
        assert placed[name].x == pytest.approx(lon, abs=1e-6), name
        assert placed[name].y == pytest.approx(lat, abs=1e-6), name
    # Axis order matters: a swapped reading would put "ne" ~0.18° further north than east.
    assert placed["ne"].x > 140.05
    assert placed["ne"].y < 36.1


def test_srid_option_overrides_a_file_without_reference_system(layer, tmp_path):
    path = write_geojson(
        tmp_path, [feature("p", {"type": "Point", "coordinates": [20000.0, 10000.0]})]
    )
    run_import(layer, path, "--srid", "6677")
    geometry = Feature.objects.get(layer=layer, external_id="p").geometry
    lon, lat = plane_to_geographic(10000, 20000)
    assert (geometry.x, geometry.y) == (pytest.approx(lon, abs=1e-6), pytest.approx(lat, abs=1e-6))


def test_unsupported_reference_system_is_refused(layer, tmp_path):
    path = write_geojson(
        tmp_path, [feature("p", {"type": "Point", "coordinates": [1.0, 2.0]})], crs=3857
    )
    with pytest.raises(Exception, match="EPSG:3857"):
        run_import(layer, path)
    assert not Feature.objects.filter(layer=layer).exists()


def test_self_intersecting_polygon_is_repaired_and_a_collapsed_one_rejected(layer, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[139.50, 35.70], [139.51, 35.71], [139.51, 35.70], [139.50, 35.71], [139.50, 35.70]]
        ],
    }
    flat = {
        "type": "Polygon",
        # All corners on one parallel: no area, nothing a repair can keep.
        "coordinates": [[[139.50, 35.70], [139.51, 35.70], [139.52, 35.70], [139.50, 35.70]]],
    }
    path = write_geojson(
        tmp_path,
        [
            feature("bowtie", bowtie),
            feature("flat", flat),
            feature("good", square(139.6, 35.7)),
            {"type": "Feature", "properties": {"id": "none"}, "geometry": None},
        ],
        crs=4326,
    )
    report = importing.import_layer(layer=layer, path=path)
    assert (report.read, report.created, len(report.rejected)) == (4, 2, 2)
    repaired = Feature.objects.get(layer=layer, external_id="bowtie").geometry
    assert repaired.valid
    assert repaired.geom_type == "MultiPolygon"
    assert len(repaired) == 2  # the two triangles of the bow tie
    assert report.repaired[0][0] == "bowtie"
    assert "Self-intersection" in report.repaired[0][1]
    reasons = dict(report.rejected)
    assert "cannot be repaired" in reasons["2 (flat)"]
    assert "no geometry" in reasons["4 (none)"]
    assert not Feature.objects.filter(layer=layer, external_id__in=["flat", "none"]).exists()


def test_reimporting_the_same_file_changes_nothing(layer, tmp_path):
    path = write_geojson(
        tmp_path,
        [feature(f"P{i}", square(139.5 + i * 0.001, 35.7), area=100 + i) for i in range(5)],
        crs=4326,
    )
    first = run_import(layer, path)
    rows_before = list(Feature.objects.order_by("id").values_list("id", "valid_from", "valid_to"))
    revision = Layer.objects.get(pk=layer.pk).revision
    second = run_import(layer, path)
    assert "created=5 updated=0 unchanged=0" in first
    assert "created=0 updated=0 unchanged=5 rejected=0" in second
    assert list(Feature.objects.order_by("id").values_list("id", "valid_from", "valid_to")) == (
        rows_before
    )
    assert Layer.objects.get(pk=layer.pk).revision == revision


def test_an_edit_closes_the_old_version_and_keeps_it(layer, tmp_path):
    run_import(
        layer, write_geojson(tmp_path, [feature("P1", square(139.5, 35.7), use="宅地")], crs=4326)
    )
    changed = write_geojson(
        tmp_path, [feature("P1", square(139.5, 35.7), use="雑種地")], crs=4326, name="v2.geojson"
    )
    output = run_import(layer, changed)
    assert "created=0 updated=1 unchanged=0" in output
    versions = list(Feature.objects.filter(layer=layer, external_id="P1").order_by("valid_from"))
    assert len(versions) == 2
    assert versions[0].valid_to is not None and versions[0].attributes["use"] == "宅地"
    assert versions[1].valid_to is None and versions[1].attributes["use"] == "雑種地"


def test_repeated_external_id_in_one_file_is_rejected_with_the_first_row(layer, tmp_path):
    path = write_geojson(
        tmp_path,
        [feature("P1", square(139.5, 35.7)), feature("P1", square(139.6, 35.7))],
        crs=4326,
    )
    report = importing.import_layer(layer=layer, path=path)
    assert report.created == 1
    assert report.rejected == [("2 (P1)", report.rejected[0][1])]
    assert "row 1" in report.rejected[0][1]


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="needs GDAL's ogr2ogr")
@pytest.mark.parametrize(("driver", "suffix"), [("GPKG", "gpkg"), ("ESRI Shapefile", "shp")])
def test_geopackage_and_shapefile_are_read_too(layer, tmp_path, driver, suffix):
    source = write_geojson(
        tmp_path, [feature("A1", {"type": "Point", "coordinates": [20000.0, 10000.0]})], crs=6677
    )
    target = tmp_path / f"data.{suffix}"
    subprocess.run(["ogr2ogr", "-f", driver, str(target), str(source)], check=True)
    assert "created=1" in run_import(layer, target)
    geometry = Feature.objects.get(layer=layer, external_id="A1").geometry
    lon, lat = plane_to_geographic(10000, 20000)
    assert geometry.x == pytest.approx(lon, abs=1e-6)
    assert geometry.y == pytest.approx(lat, abs=1e-6)


def test_export_writes_the_current_features_as_geojson(layer, tmp_path):
    run_import(
        layer,
        write_geojson(tmp_path, [feature("P1", square(139.5, 35.7), use="宅地")], crs=4326),
    )
    out = tmp_path / "out.geojson"
    call_command("gis_export", layer.slug, "-o", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert [f["id"] for f in doc["features"]] == ["P1"]
    assert doc["features"][0]["properties"]["use"] == "宅地"
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == [139.5, 35.7]
