"""notices_quiet_until(start, end, at, tz): when a message may go out given quiet hours.

Outside the quiet window it is `at`; inside, the window's end on the resident's clock (the
window may run past midnight, 21:00–07:00). Used by the INSERT … SELECT that writes deliveries,
so 100,000 rows get their time in SQL.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION notices_quiet_until(
    quiet_start time, quiet_end time, at timestamptz, tz text
) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    WITH local AS (SELECT (at AT TIME ZONE tz) AS ts)
    SELECT CASE
        WHEN quiet_start IS NULL OR quiet_end IS NULL OR quiet_start = quiet_end THEN at
        WHEN quiet_start < quiet_end THEN
            CASE WHEN ts::time >= quiet_start AND ts::time < quiet_end
                 THEN (ts::date + quiet_end) AT TIME ZONE tz ELSE at END
        ELSE
            CASE WHEN ts::time >= quiet_start
                      THEN ((ts::date + 1) + quiet_end) AT TIME ZONE tz
                 WHEN ts::time < quiet_end
                      THEN (ts::date + quiet_end) AT TIME ZONE tz
                 ELSE at END
    END FROM local
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_notices_tables")]

    operations = [
        migrations.RunSQL(
            CREATE, "DROP FUNCTION IF EXISTS notices_quiet_until(time, time, timestamptz, text);"
        ),
    ]
