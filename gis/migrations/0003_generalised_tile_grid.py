# Issue 17.6: the generalised rows hold geometry already on their zoom's tile grid, valid and
# wound as a vector tile wants it, so a tile moves a feature that lies inside it into tile
# coordinates by one affine transform instead of ST_AsMVTGeom (clip, snap, re-validate:
# 7 µs a feature, most of a tile's cost at a real city's density).

from django.db import migrations

# Below this zoom tiles read geo_generalisedfeature (gis.selectors.GENERALISED_BELOW_ZOOM).
BELOW_ZOOM = 16

# Web Mercator's square (ST_TileEnvelope's default bounds) and a tile's extent in MVT units.
ORIGIN = "-20037508.342789244"
WORLD = "40075016.685578488"

_ROWS = """
    INSERT INTO geo_generalisedfeature
        (layer_id, feature_id, zoom, external_id, attributes, geometry)
    SELECT f.layer_id, f.id, z.zoom, f.external_id, f.attributes, t.geom
      FROM (SELECT s.*, geo_generalised_first_zoom(s.geometry) AS first_zoom
              FROM {source} s
             WHERE s.valid_to IS NULL {where}) AS f
     CROSS JOIN LATERAL generate_series(f.first_zoom, %(last)s) AS z(zoom)
     CROSS JOIN LATERAL geo_generalised_geometry(f.geometry, z.zoom) AS t(geom)
     WHERE f.first_zoom <= %(last)s AND t.geom IS NOT NULL
""".replace("%(last)s", str(BELOW_ZOOM - 1))

_GEOMETRY = f"""
-- A feature's shape at one zoom: in Web Mercator, simplified to a quarter pixel (topology kept),
-- snapped to the zoom's tile grid (4096 units a tile, the grid ST_AsMVTGeom snaps to), made
-- valid again, and with exterior rings clockwise (in y-up Mercator; counter-clockwise once the
-- tile flips y, as ST_AsMVTGeom writes them). NULL when nothing is left at this zoom.
CREATE OR REPLACE FUNCTION geo_generalised_geometry(g geometry, zoom integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR ST_IsEmpty(v) THEN NULL ELSE v END
      FROM (SELECT CASE WHEN ST_Dimension(g) = 0 THEN s
                        ELSE ST_ForcePolygonCW(ST_CollectionExtract(ST_MakeValid(s),
                                                                    ST_Dimension(g) + 1))
                   END AS v
              FROM (SELECT ST_SnapToGrid(
                               CASE WHEN ST_Dimension(g) = 0 THEN ST_Transform(g, 3857)
                                    ELSE ST_SimplifyPreserveTopology(
                                             ST_Transform(g, 3857),
                                             40075016.686 / 256 / power(2, zoom) / 4)
                               END,
                               {ORIGIN}, {ORIGIN},
                               {WORLD} / power(2, zoom) / 4096,
                               {WORLD} / power(2, zoom) / 4096) AS s) AS snapped) AS valid
$$;
"""

FORWARD = f"""
{_GEOMETRY}

CREATE OR REPLACE FUNCTION geo_generalise_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_ROWS.format(source="new_rows", where="")};
    UPDATE geo_layer SET revision = revision + 1, updated_at = clock_timestamp()
     WHERE id IN (SELECT layer_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION geo_generalise_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM geo_generalisedfeature WHERE feature_id IN (SELECT id FROM old_rows);
    {_ROWS.format(source="new_rows", where="")};
    UPDATE geo_layer SET revision = revision + 1, updated_at = clock_timestamp()
     WHERE id IN (SELECT layer_id FROM old_rows UNION SELECT layer_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION geo_generalise_layer(layer bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM geo_generalisedfeature WHERE layer_id = layer;
    {_ROWS.format(source="geo_feature", where="AND s.layer_id = layer")};
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;
"""


def _backward() -> str:
    # Going back restores migration 0002's functions (from its own text) and rebuilds the rows.
    import importlib

    previous = importlib.import_module("gis.migrations.0002_generalised_features")
    functions = previous.FORWARD.split("-- Statement-level with transition tables")[0]
    functions = functions.split("CREATE FUNCTION geo_generalise_inserted")[1]
    return (
        "CREATE OR REPLACE FUNCTION geo_generalise_inserted"
        + functions.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        + "\nSELECT geo_generalise_layer(id) FROM geo_layer;"
        + "\nSET CONSTRAINTS ALL IMMEDIATE;"
        + "\nDROP FUNCTION IF EXISTS geo_generalised_geometry(geometry, integer);\n"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("geo", "0002_generalised_features"),
    ]

    operations = [
        migrations.RunSQL(
            # The rebuilt rows' deferred foreign-key checks run now, so that the ALTER TABLE
            # below (or, going back, above) finds no pending trigger events.
            FORWARD
            + "\nSELECT geo_generalise_layer(id) FROM geo_layer;"
            + "\nSET CONSTRAINTS ALL IMMEDIATE;",
            _backward(),
        ),
        # A tile statement is short: a parallel scan starts a background worker (which must
        # load PostGIS) per tile. That start-up was the whole cost of an empty z14 tile at
        # 100,000 parcels (20-54 ms against 0.8 ms serial) and doubled a 6,000-feature one.
        migrations.RunSQL(
            "ALTER TABLE geo_generalisedfeature SET (parallel_workers = 0)",
            "ALTER TABLE geo_generalisedfeature RESET (parallel_workers)",
        ),
    ]
