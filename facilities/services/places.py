"""Facilities on the city's map: a public layer of gis, written through gis' services."""

from __future__ import annotations

from ..models import Facility

MAP_LAYER = "facility-booking"


def show_on_map(facility: Facility, *, actor=None) -> None:
    """Put (or move) the facility on the public map layer 「予約できる施設」; a facility that is
    no longer published keeps its last point until a person removes it in gis."""
    from gis import services as gis_services

    layer = gis_services.ensure_layer(
        slug=MAP_LAYER,
        name_ja="予約できる施設",
        name_en="Bookable facilities",
        kind="facilities",
        department="施設予約",
        visibility="public",
        style={
            "color": "#0b5394",
            "weight": 2,
            "fillColor": "#4f8fd6",
            "fillOpacity": 0.9,
            "radius": 8,
        },
        order=61,
    )
    current = layer.features.filter(external_id=facility.code, valid_to__isnull=True).first()
    attributes = {
        "name": facility.name_ja,
        "name_en": facility.name_en,
        "category": str(Facility.Kind(facility.kind).label),
        "url": f"/facilities/{facility.code}/",
    }
    if (
        current is not None
        and current.geometry.equals(facility.location)
        and current.attributes == attributes
    ):
        return
    gis_services.edit_feature(
        layer=layer,
        external_id=facility.code,
        geometry=facility.location,
        attributes=attributes,
        actor=actor,
    )
