import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.expressions
from django.db import migrations, models

# Every one- and two-character piece of the search name and reading, spaces left out. IMMUTABLE
# (it only reads its arguments) so an index may hold it; not inlinable (it has a FROM), so a
# query's call matches the index's expression.
SHORT_GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION residents_short_grams(name text, kana text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT piece), '{}')
      FROM (
        SELECT substr(word, i, n) AS piece
          FROM unnest(ARRAY[name, kana]) AS word,
               generate_series(1, 2) AS n,
               generate_series(1, char_length(word) - n + 1) AS i
      ) AS pieces
     WHERE position(' ' IN piece) = 0
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0007_certify_mynumber_permission"),
    ]

    operations = [
        migrations.RunSQL(
            SHORT_GRAMS_FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS residents_short_grams(text, text);",
        ),
        migrations.AddIndex(
            model_name="resident",
            index=django.contrib.postgres.indexes.GinIndex(
                django.db.models.expressions.Func(
                    models.F("search_name"),
                    models.F("search_kana"),
                    function="residents_short_grams",
                    output_field=django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(), size=None
                    ),
                ),
                name="resident_short_grams",
            ),
        ),
    ]
