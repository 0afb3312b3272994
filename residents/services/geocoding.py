"""Addresses' map positions, written by the GIS geocoder (gis.services).

The residents app owns the Address table, so the geocoder's writes come through here; the bulk
path is one UPDATE … FROM (VALUES …) per 5,000 rows with psycopg2's execute_values, as the ORM
has no set-based update from a list of rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.gis.geos import Point
from django.db import connection, transaction

from ..models import Address


@transaction.atomic
def set_address_location(*, address_id: int, point: Point, parcel_key: str) -> Address:
    """Store the geocoded point (EPSG:6668) and parcel key of an address."""
    address = Address.objects.select_for_update().get(pk=address_id)
    if point.srid is None:
        point.srid = 6668
    elif point.srid != 6668:
        point = point.transform(6668, clone=True)
    address.location = point
    address.parcel_key = parcel_key
    address.save(update_fields=["location", "parcel_key"])
    return address


def bulk_set_address_locations(rows: Iterable[tuple[int, float, float, str]]) -> int:
    """Set many addresses' points in one statement per 5,000 rows: (address_id, lon, lat, parcel_key).

    lon/lat are JGD2011 (EPSG:6668). Returns the number of addresses updated.
    """
    from psycopg2.extras import execute_values

    sql = """
        UPDATE residents_address AS a
           SET location = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 6668),
               parcel_key = v.parcel_key
          FROM (VALUES %s) AS v(id, lon, lat, parcel_key)
         WHERE a.id = v.id
    """
    batch: list[tuple[int, float, float, str]] = []
    updated = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            batch.append((int(row[0]), float(row[1]), float(row[2]), str(row[3] or "")))
            if len(batch) >= 5000:
                updated += _update_batch(cursor, execute_values, sql, batch)
                batch = []
        if batch:
            updated += _update_batch(cursor, execute_values, sql, batch)
    return updated


def _update_batch(cursor, execute_values, sql: str, batch: list) -> int:
    raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
    execute_values(
        raw,
        sql,
        batch,
        template="(%s::bigint, %s::double precision, %s::double precision, %s::text)",
        page_size=len(batch),
    )
    return raw.rowcount
