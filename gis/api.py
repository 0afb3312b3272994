"""GIS API: layers, features as GeoJSON by bbox, point queries and geocoding (thin)."""

from __future__ import annotations

import math
import re

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from . import selectors
from .geocoding import address_key_from_text
from .models import Layer

MAX_FEATURES = 5000


class LayerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Layer
        fields = [
            "slug",
            "name",
            "name_ja",
            "name_en",
            "kind",
            "department",
            "visibility",
            "style",
            "min_zoom",
        ]


NUMBER = r"-?[0-9]+(\.[0-9]+)?"
# Empty: the whole layer.
BBOX_PATTERN = rf"^({NUMBER},{NUMBER},{NUMBER},{NUMBER})?$"


def _float(request, name: str) -> float:
    try:
        value = float(request.query_params[name])
    except (KeyError, ValueError) as exc:
        raise ValidationError({name: _("数値で指定してください。")}) from exc
    if not math.isfinite(value):
        raise ValidationError({name: _("数値で指定してください。")})
    return value


def _bbox(value: str) -> tuple[float, float, float, float] | None:
    """Four numbers; the corners may come in either order (the box is the same)."""
    if not value:
        return None
    if not re.fullmatch(BBOX_PATTERN, value):
        raise ValidationError({"bbox": _("bbox は 西,南,東,北 の4つの数です。")})
    west, south, east, north = (float(part) for part in value.split(","))
    return min(west, east), min(south, north), max(west, east), max(south, north)


@extend_schema(responses=LayerSerializer(many=True))
@api_view(["GET"])
@permission_classes([AllowAny])
def layers(request):
    """Layers the caller may see (public ones; all of them for staff)."""
    return Response(LayerSerializer(selectors.visible_layers(request.user), many=True).data)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "bbox",
            {"type": "string", "pattern": BBOX_PATTERN},
            description="west,south,east,north (EPSG:6668 lon/lat)",
        ),
        OpenApiParameter("limit", int, description=f"at most {MAX_FEATURES}"),
    ],
    responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def features(request, slug: str):
    """The layer's current features as a GeoJSON FeatureCollection, built by PostGIS."""
    layer = get_object_or_404(Layer, slug=slug)
    if not selectors.can_see_layer(request.user, layer):
        raise PermissionDenied
    bbox = _bbox(request.query_params.get("bbox", ""))
    try:
        limit = min(int(request.query_params.get("limit", MAX_FEATURES)), MAX_FEATURES)
    except ValueError as exc:
        raise ValidationError({"limit": _("整数で指定してください。")}) from exc
    text, _count = selectors.layer_geojson(layer, bbox=bbox, limit=max(limit, 0))
    return HttpResponse(text, content_type="application/geo+json")


_FEATURE = inline_serializer(
    "PointFeature",
    {
        "layer": serializers.CharField(),
        "layer_name": serializers.CharField(),
        "external_id": serializers.CharField(),
        "attributes": serializers.DictField(),
    },
    many=True,
)


@extend_schema(
    parameters=[
        OpenApiParameter("lon", float, required=True),
        OpenApiParameter("lat", float, required=True),
    ],
    responses=_FEATURE,
)
@api_view(["GET"])
@permission_classes([AllowAny])
def point(request):
    """Current features at a point, in the layers the caller may see."""
    at = selectors.point(_float(request, "lon"), _float(request, "lat"))
    visible = selectors.visible_layers(request.user).values_list("slug", flat=True)
    found = selectors.features_at_point(at, layers=visible).order_by("layer__order", "id")[:50]
    return Response(
        [
            {
                "layer": f.layer.slug,
                "layer_name": f.layer.name,
                "external_id": f.external_id,
                "attributes": f.attributes,
            }
            for f in found
        ]
    )


@extend_schema(
    parameters=[OpenApiParameter("address", str, required=True)],
    responses={
        200: inline_serializer(
            "Geocode",
            {
                "address_key": serializers.CharField(),
                "lon": serializers.FloatField(),
                "lat": serializers.FloatField(),
                "parcel_key": serializers.CharField(),
                "garbage_district": serializers.DictField(allow_null=True),
            },
        ),
        404: OpenApiResponse(description="その住所は見つかりません / address not found"),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
def geocode(request):
    """An address of this city → its point, parcel key and garbage district with next days."""
    key = address_key_from_text(request.query_params.get("address", ""))
    found = selectors.address_point(key)
    if found is None:
        return Response(
            {"detail": _("その住所は見つかりません。町名・丁目・番・号を確かめてください。")},
            status=404,
        )
    district = selectors.garbage_district_at(found.point)
    district_data = None
    if district is not None:
        district_data = {
            "code": district.code,
            "name": district.name,
            "calendar": [
                {**row, "next": [day.isoformat() for day in row["next"]]}
                for row in selectors.garbage_calendar(district, after=timezone.localdate())
            ],
        }
    return Response(
        {
            "address_key": found.address_key,
            "lon": found.point.x,
            "lat": found.point.y,
            "parcel_key": found.parcel_key,
            "garbage_district": district_data,
        }
    )
