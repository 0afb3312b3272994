"""Factories for GIS tests: layers and features with hand-placed geometries."""

from __future__ import annotations

import factory
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.utils import timezone

from gis.models import Feature, GarbageDistrict, Layer


class LayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Layer
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"layer-{n}")
    name_ja = factory.Sequence(lambda n: f"レイヤ{n}")
    name_en = factory.Sequence(lambda n: f"Layer {n}")
    kind = Layer.Kind.PARCELS
    department = "資産税課"
    visibility = Layer.Visibility.STAFF


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    layer = factory.SubFactory(LayerFactory)
    external_id = factory.Sequence(lambda n: f"F{n}")
    geometry = factory.LazyFunction(lambda: GEOSGeometry("POINT(139.5 35.7)", srid=6668))
    attributes = factory.LazyFunction(dict)
    valid_from = factory.LazyFunction(timezone.now)


class GarbageDistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GarbageDistrict

    code = factory.Sequence(lambda n: f"G{n}")
    name_ja = factory.Sequence(lambda n: f"地区{n}")
    name_en = factory.Sequence(lambda n: f"District {n}")


def box(west: float, south: float, east: float, north: float) -> Polygon:
    polygon = Polygon.from_bbox((west, south, east, north))
    polygon.srid = 6668
    return polygon


def resident_at(address: str, *, user=None, family_name: str = "地図", given_name: str = "花子"):
    """A current resident moved in at `address` through residents.services (as the register
    would), optionally linked to a portal account."""
    from datetime import date

    from cityhall.roles import SYSTEM
    from residents import services as resident_services

    movement = resident_services.register_move_in(
        family_name=family_name,
        given_name=given_name,
        family_name_kana="チズ",
        given_name_kana="ハナコ",
        birth_date=date(1985, 6, 1),
        sex="female",
        effective_on=date(2024, 4, 1),
        notified_on=date(2024, 4, 1),
        clerk=SYSTEM,
        address=address,
    )
    resident = movement.resident
    if user is not None:
        resident.user = user
        resident.save(update_fields=["user"])
    return resident


def features_of_tile(tile_layer: dict) -> list[Feature]:
    """The features a decoded tile layer draws, in its order, found by each tile feature's id
    (below z16 a tile carries the id and no properties)."""
    ids = [f["id"] for f in tile_layer["features"]]
    found = Feature.objects.in_bulk(ids)
    return [found[i] for i in ids]
