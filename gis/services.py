"""Every change to the GIS data: layers, feature edits with history, imports, address points,
garbage schedules, and geocoding of the residents' addresses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from cityhall import audit
from cityhall.events import raise_event
from cityhall.roles import require_permission
from residents import selectors as resident_selectors
from residents import services as resident_services

from . import importing
from .coords import JGD2011_GEOGRAPHIC
from .garbage import parse_rule
from .geocoding import address_key, address_key_from_text
from .models import AddressPoint, Feature, GarbageDistrict, GarbageSchedule, Layer

# Placing an address by hand moves where the register's address is on the map.
PLACE_PERMISSION = "geo.change_addresspoint"


def ensure_layer(
    *,
    slug: str,
    name_ja: str,
    name_en: str,
    kind: str,
    department: str,
    visibility: str = Layer.Visibility.STAFF,
    style: dict | None = None,
    min_zoom: int = 0,
    order: int = 100,
) -> Layer:
    """Create the layer or bring its settings up to date (idempotent)."""
    if kind not in Layer.Kind.values:
        raise ValidationError(
            {"kind": f"レイヤの種類 {kind} はありません / Unknown layer kind {kind}"}
        )
    layer, _created = Layer.objects.update_or_create(
        slug=slug,
        defaults={
            "name_ja": name_ja,
            "name_en": name_en,
            "kind": kind,
            "department": department,
            "visibility": visibility,
            "style": style or {},
            "min_zoom": min_zoom,
            "order": order,
        },
    )
    return layer


def refresh_generalised(*, layer: Layer) -> int:
    """Rebuild the layer's generalised tile rows from its current features (idempotent; the
    triggers on geo_feature keep them in step on every write, so this is for a change of the
    generalisation rule or a repair). Raises the layer's revision, so cached tiles made from
    the old rows are not served again. The per-cell feature counts (geo_tilecell) are rebuilt
    with them. Returns the number of generalised rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        Layer.objects.select_for_update().filter(pk=layer.pk).first()
        cursor.execute("SELECT geo_generalise_layer(%s)", [layer.pk])
        (written,) = cursor.fetchone()
        # The per-cell counts the z16/z17 tiles' feature budget reads, rebuilt alongside.
        cursor.execute("SELECT geo_tilecell_layer(%s)", [layer.pk])
        Layer.objects.filter(pk=layer.pk).update(
            revision=models.F("revision") + 1, updated_at=timezone.now()
        )
    layer.refresh_from_db(fields=["revision", "updated_at"])
    return written


def import_layer_file(
    *,
    layer: Layer,
    path: str | Path,
    srid: int | None = None,
    id_field: str | None = None,
    actor=None,
) -> importing.ImportReport:
    """Import a file into a layer (see gis.importing); the run is written to the audit log."""
    try:
        report = importing.import_layer(layer=layer, path=path, srid=srid, id_field=id_field)
    except importing.ImportError_ as exc:
        raise ValidationError({"file": str(exc)}) from exc
    audit.record(
        action="gis.import",
        actor=actor,
        obj=layer,
        details={
            "file": Path(path).name,
            "read": report.read,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        },
    )
    return report


def edit_feature(
    *,
    layer: Layer,
    external_id: str,
    geometry: GEOSGeometry,
    attributes: dict,
    actor=None,
) -> Feature:
    """Replace a feature's current version: the old row is closed, a new one inserted.

    Geometry must be valid; it is stored in EPSG:6668."""
    if geometry.srid is None:
        raise ValidationError({"geometry": "座標参照系がありません / The geometry has no SRID"})
    if geometry.srid != JGD2011_GEOGRAPHIC:
        geometry = geometry.transform(JGD2011_GEOGRAPHIC, clone=True)
    if geometry.empty or not geometry.valid:
        raise ValidationError(
            {
                "geometry": f"形状が不正です（{geometry.valid_reason}） / "
                f"The geometry is invalid ({geometry.valid_reason})"
            }
        )
    now = timezone.now()
    with transaction.atomic():
        Layer.objects.select_for_update().filter(pk=layer.pk).first()
        Feature.objects.filter(layer=layer, external_id=external_id, valid_to__isnull=True).update(
            valid_to=now
        )
        feature = Feature.objects.create(
            layer=layer,
            external_id=external_id,
            geometry=geometry,
            attributes=attributes,
            valid_from=now,
        )
        Layer.objects.filter(pk=layer.pk).update(revision=layer.revision + 1, updated_at=now)
        layer.revision += 1
        audit.record(action="gis.edit_feature", actor=actor, obj=feature)
    return feature


def set_garbage_schedule(*, district: GarbageDistrict, kind: str, rule: str) -> GarbageSchedule:
    """Set the collection days of one garbage kind in one district (day tokens, FORMATS.md §7)."""
    if kind not in GarbageSchedule.Kind.values:
        raise ValidationError(
            {"kind": f"ごみの種類 {kind} はありません / Unknown garbage kind {kind}"}
        )
    try:
        parse_rule(rule)
    except ValueError as exc:
        raise ValidationError({"rule": str(exc)}) from exc
    with transaction.atomic():
        before = GarbageSchedule.objects.filter(district=district, kind=kind).first()
        schedule, _created = GarbageSchedule.objects.update_or_create(
            district=district, kind=kind, defaults={"rule": rule.strip()}
        )
        GarbageDistrict.objects.filter(pk=district.pk).update(updated_at=timezone.now())
        if before is not None and before.rule != schedule.rule:
            # Residents of the district are told their new collection days (notices, through the
            # events registry): a changed day otherwise means bags left out on the wrong day.
            from django.utils import translation

            from .garbage import describe_rule

            parsed = parse_rule(schedule.rule)
            with translation.override("en"):
                kind_en = str(GarbageSchedule.Kind(kind).label)
            with translation.override("ja"):
                kind_ja = str(GarbageSchedule.Kind(kind).label)
            raise_event(
                "gis.garbage_changed",
                context={
                    "district_code": district.code,
                    "district": district.name_ja,
                    "district_en": district.name_en,
                    "kind": kind_ja,
                    "kind_en": kind_en,
                    "days": describe_rule(parsed, lang="ja"),
                    "days_en": describe_rule(parsed, lang="en"),
                },
            )
    return schedule


def load_address_points_from_layer(*, layer: Layer) -> int:
    """Fill the address table from a layer of address points or parcels: each current feature
    with an `address_key` attribute gives a point (its geometry's point on surface) and the
    parcel key (attribute `parcel_key`, else the external id). Returns rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO geo_addresspoint (address_key, point, parcel_key)
            SELECT DISTINCT ON (f.attributes->>'address_key')
                   f.attributes->>'address_key', ST_PointOnSurface(f.geometry),
                   COALESCE(f.attributes->>'parcel_key', f.external_id)
              FROM geo_feature f
             WHERE f.layer_id = %s AND f.valid_to IS NULL
               AND COALESCE(f.attributes->>'address_key', '') <> ''
             ORDER BY f.attributes->>'address_key', f.id
            ON CONFLICT (address_key) DO UPDATE
               SET point = EXCLUDED.point, parcel_key = EXCLUDED.parcel_key
             WHERE geo_addresspoint.point IS DISTINCT FROM EXCLUDED.point
                OR geo_addresspoint.parcel_key IS DISTINCT FROM EXCLUDED.parcel_key
            """,
            [layer.pk],
        )
        return cursor.rowcount


def geocode_resident_addresses(*, batch_size: int = 5000) -> tuple[int, int]:
    """Place every resident address that has no location yet on its address point.

    Reads through residents.selectors and writes through residents.services; returns
    (resolved, unresolved). Running it again resolves only what is still open."""
    resolved = unresolved = 0
    pending = resident_selectors.addresses_without_location().values_list(
        "id", "town", "chome", "banchi", "go"
    )
    batch: list[tuple[int, str]] = []

    def flush() -> None:
        nonlocal resolved, unresolved
        keys = {key for _id, key in batch if key}
        points = {ap.address_key: ap for ap in AddressPoint.objects.filter(address_key__in=keys)}
        rows = []
        for address_id, key in batch:
            found = points.get(key)
            if found is None:
                unresolved += 1
            else:
                rows.append((address_id, found.point.x, found.point.y, found.parcel_key))
        if rows:
            resolved += resident_services.bulk_set_address_locations(rows)
        batch.clear()

    for address_id, town, chome, banchi, go in pending.iterator(chunk_size=batch_size):
        batch.append((address_id, address_key(town, chome, banchi, go)))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return resolved, unresolved


def place_address(*, address_id: int, typed_address: str, actor, request=None) -> AddressPoint:
    """Staff fix for an address the geocoder could not place: point it at the address point
    of a corrected address (e.g. 本町3丁目12番4号)."""
    require_permission(actor, PLACE_PERMISSION)
    key = address_key_from_text(typed_address)
    found = AddressPoint.objects.filter(address_key=key).first() if key else None
    if found is None:
        raise ValidationError(
            {
                "typed_address": "その住所の位置が見つかりません。丁目・番・号まで入力してください / "
                "No point for that address; enter town, chome, block and lot"
            }
        )
    with transaction.atomic():
        resident_services.set_address_location(
            address_id=address_id, point=found.point.clone(), parcel_key=found.parcel_key
        )
        audit.record(
            action="gis.place_address",
            actor=actor,
            object_type="residents.Address",
            object_id=address_id,
            request=request,
            details={"address_key": found.address_key},
        )
    return found


def upsert_address_points(rows: Iterable[tuple[str, float, float, str]]) -> int:
    """Write address points (address_key, lon, lat, parcel_key) in bulk; returns rows changed."""
    from psycopg2.extras import execute_values

    data = [(str(k), float(lon), float(lat), str(p or "")) for k, lon, lat, p in rows]
    if not data:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"""
            INSERT INTO geo_addresspoint (address_key, point, parcel_key)
            SELECT k, ST_SetSRID(ST_MakePoint(lon, lat), {JGD2011_GEOGRAPHIC}), p
              FROM (VALUES %s) AS v(k, lon, lat, p)
            ON CONFLICT (address_key) DO UPDATE
               SET point = EXCLUDED.point, parcel_key = EXCLUDED.parcel_key
             WHERE geo_addresspoint.parcel_key IS DISTINCT FROM EXCLUDED.parcel_key
                OR NOT ST_Equals(geo_addresspoint.point, EXCLUDED.point)
            """,
            data,
            template="(%s::text, %s::double precision, %s::double precision, %s::text)",
            page_size=len(data),
        )
        return cursor.cursor.rowcount
