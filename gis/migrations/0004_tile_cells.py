# A count of each layer's current features per z20 cell, kept by statement-level triggers like
# the generalised rows (0002): a z16/z17 tile learns from at most 256 of these rows whether it
# holds more features than a tile should draw, without reading any feature.

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

# 2^20 cells across the world: a z20 tile, 16 to a z16 tile's side (gis.selectors.CELL_ZOOM).
CELLS = 1 << 20

# Where a feature counts: the centre of its bounding box (stored with the geometry, so no
# coordinate of the shape is read), as the z20 tile (Web Mercator) that holds it. Latitude is
# clamped to Web Mercator's square so that a point at a pole still has a cell.
_CELL_FUNCTIONS = f"""
CREATE FUNCTION geo_tile_cell_x(g geometry) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least({CELLS - 1}, greatest(0,
               floor(((ST_XMin(g) + ST_XMax(g)) / 2 + 180) / 360 * {CELLS})))::integer
$$;

CREATE FUNCTION geo_tile_cell_y(g geometry) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least({CELLS - 1}, greatest(0, floor(
               (1 - asinh(tan(radians(least(85.0511, greatest(-85.0511,
                                                            (ST_YMin(g) + ST_YMax(g)) / 2)))))
                    / pi()) / 2 * {CELLS})))::integer
$$;
"""

# One row per (layer, cell) the given rows fall in, with how many: `sign` is +1 or -1.
_COUNTED = """
    SELECT layer_id, geo_tile_cell_x(geometry) AS x, geo_tile_cell_y(geometry) AS y,
           {sign} AS n
      FROM {source}
     WHERE valid_to IS NULL AND geometry IS NOT NULL AND NOT ST_IsEmpty(geometry) {where}
"""

_DELTA = """
    WITH delta AS (
        SELECT layer_id, x, y, sum(n) AS n
          FROM ({rows}) AS counted
         GROUP BY layer_id, x, y
        HAVING sum(n) <> 0
    )
"""

# Counts that grow are added (a new cell is inserted); counts that shrink only update, so that
# the features of a layer being deleted, whose cells may already be gone, write nothing; a cell
# left at zero is removed (only the cells this statement lowered are looked at).
# ORDER BY: two concurrent edits lock shared cells in the same order (no deadlock).
_APPLY = """
    {delta}
    INSERT INTO geo_tilecell (layer_id, x, y, features)
    SELECT layer_id, x, y, n FROM delta WHERE n > 0 ORDER BY layer_id, x, y
        ON CONFLICT (layer_id, x, y)
        DO UPDATE SET features = geo_tilecell.features + excluded.features;
    {delta}
    UPDATE geo_tilecell t SET features = t.features + d.n
      FROM delta d
     WHERE d.n < 0 AND t.layer_id = d.layer_id AND t.x = d.x AND t.y = d.y;
    {delta}
    DELETE FROM geo_tilecell t
     USING delta d
     WHERE d.n < 0 AND t.layer_id = d.layer_id AND t.x = d.x AND t.y = d.y AND t.features = 0;
"""


def _apply(rows: str) -> str:
    return _APPLY.format(delta=_DELTA.format(rows=rows))


# An update counts its new current rows in and its old ones out (an edit closes the old version).
_UPDATED_ROWS = (
    _COUNTED.format(sign=1, source="new_rows", where="")
    + " UNION ALL "
    + _COUNTED.format(sign=-1, source="old_rows", where="")
)

FORWARD = f"""
{_CELL_FUNCTIONS}

CREATE FUNCTION geo_tilecell_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(_COUNTED.format(sign=1, source="new_rows", where=""))}
    RETURN NULL;
END $$;

CREATE FUNCTION geo_tilecell_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(_UPDATED_ROWS)}
    RETURN NULL;
END $$;

CREATE FUNCTION geo_tilecell_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_apply(_COUNTED.format(sign=-1, source="old_rows", where=""))}
    RETURN NULL;
END $$;

-- Rebuild one layer's counts (idempotent): gis.services.refresh_generalised.
CREATE FUNCTION geo_tilecell_layer(layer bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM geo_tilecell WHERE layer_id = layer;
    INSERT INTO geo_tilecell (layer_id, x, y, features)
    SELECT layer_id, x, y, sum(n)
      FROM ({_COUNTED.format(sign=1, source="geo_feature", where="AND layer_id = layer")}) AS c
     GROUP BY layer_id, x, y;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

CREATE TRIGGER geo_feature_tilecell_inserted AFTER INSERT ON geo_feature
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION geo_tilecell_inserted();
CREATE TRIGGER geo_feature_tilecell_updated AFTER UPDATE ON geo_feature
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION geo_tilecell_updated();
CREATE TRIGGER geo_feature_tilecell_deleted AFTER DELETE ON geo_feature
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION geo_tilecell_deleted();

SELECT geo_tilecell_layer(id) FROM geo_layer;
SET CONSTRAINTS ALL IMMEDIATE;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS geo_feature_tilecell_inserted ON geo_feature;
DROP TRIGGER IF EXISTS geo_feature_tilecell_updated ON geo_feature;
DROP TRIGGER IF EXISTS geo_feature_tilecell_deleted ON geo_feature;
DROP FUNCTION IF EXISTS geo_tilecell_layer(bigint);
DROP FUNCTION IF EXISTS geo_tilecell_inserted();
DROP FUNCTION IF EXISTS geo_tilecell_updated();
DROP FUNCTION IF EXISTS geo_tilecell_deleted();
DROP FUNCTION IF EXISTS geo_tile_cell_x(geometry);
DROP FUNCTION IF EXISTS geo_tile_cell_y(geometry);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("geo", "0003_generalised_tile_grid"),
    ]

    operations = [
        migrations.CreateModel(
            name="TileCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("x", models.IntegerField()),
                ("y", models.IntegerField()),
                ("features", models.IntegerField()),
                (
                    "layer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="geo.layer",
                    ),
                ),
            ],
            options={
                "verbose_name": "地物数（タイル区画別）",
                "verbose_name_plural": "地物数（タイル区画別）",
                "indexes": [
                    models.Index(
                        models.F("layer"),
                        django.db.models.expressions.CombinedExpression(
                            models.F("x"), "/", models.Value(16)
                        ),
                        django.db.models.expressions.CombinedExpression(
                            models.F("y"), "/", models.Value(16)
                        ),
                        name="tilecell_z16_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("layer", "x", "y"), name="tilecell_unique"),
                    models.CheckConstraint(
                        condition=models.Q(("features__gte", 0)), name="tilecell_features_gte_0"
                    ),
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
