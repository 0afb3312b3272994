"""Map pages, vector tiles, GeoJSON and the garbage calendar."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cityhall import audit
from cityhall.demo_city import ORIGIN_LAT, ORIGIN_LON
from residents import selectors as resident_selectors

from . import selectors, services
from .attributes import readable_attributes
from .forms import AddressSearchForm, PlaceAddressForm
from .garbage import to_ical
from .geocoding import address_key
from .models import GarbageDistrict, Layer

TILE_MAX_AGE = 300
GEOJSON_MAX_FEATURES = 5000


def _layer_config(layers) -> list[dict]:
    return [
        {
            "slug": layer.slug,
            "name": layer.name,
            "kind": layer.kind,
            "style": layer.style,
            "minZoom": layer.min_zoom,
            "tiles": reverse("gis:tile", args=[layer.slug, 0, 0, 0]).replace("/0/0/0.pbf", "")
            + "/{z}/{x}/{y}.pbf",
        }
        for layer in layers
    ]


def _map_config(request, layers, *, mode: str, home: dict | None = None) -> dict:
    bounds = selectors.extent(layers)
    if bounds is None:
        bounds = (ORIGIN_LON, ORIGIN_LAT, ORIGIN_LON + 0.04, ORIGIN_LAT + 0.04)
    return {
        "mode": mode,
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "layers": _layer_config(layers),
        "labels": selectors.map_labels(layers),
        "home": home,
        "geocodeUrl": reverse("gis_api:geocode"),
        "pointUrl": reverse("gis:staff_map_at") if mode == "staff" else reverse("gis_api:point"),
    }


LINE_KINDS = (Layer.Kind.ROADS, Layer.Kind.WATER_PIPES, Layer.Kind.SEWER_PIPES)


def legend(layers) -> list[dict]:
    """One legend entry per layer: its name and a swatch drawn like map.js draws the layer
    (a line, a dot for facilities, a filled box for areas)."""
    entries = []
    for layer in layers:
        style = layer.style or {}
        color = style.get("color", "#555555")
        if layer.kind in LINE_KINDS:
            shape = "line"
        elif layer.kind == Layer.Kind.FACILITIES:
            shape = "point"
        else:
            shape = "area"
        entries.append(
            {
                "layer": layer,
                "shape": shape,
                "color": color,
                "fill": style.get("fillColor", color),
                # Faint fills are made visible enough to tell the swatch from the page.
                "fill_opacity": max(float(style.get("fillOpacity", 0.2)), 0.25),
                "dash": style.get("dashArray", ""),
            }
        )
    return entries


def _own_district(request):
    return own_garbage_district(request.user)


def own_place(user):
    """The logged-in resident's registered address and where it lies (or None)."""
    resident = resident_selectors.resident_for_user(user)
    if resident is None or resident.household is None:
        return None, None
    address = resident.household.address
    location = address.location
    if location is None:
        found = selectors.address_point(
            address_key(address.town, address.chome, address.banchi, address.go)
        )
        location = found.point if found else None
    return address, location


def own_garbage_district(user):
    """The logged-in resident's address and garbage district, from their registered address."""
    address, location = own_place(user)
    if location is None:
        return address, None
    return address, selectors.garbage_district_at(location)


def dashboard_panel(user) -> dict | None:
    """ "My garbage days" on the resident's dashboard, or None when we cannot place them."""
    address, district = own_garbage_district(user)
    if district is None:
        return None
    return {
        "address": address,
        "district": district,
        "calendar": selectors.garbage_calendar(district, after=timezone.localdate(), count=2),
    }


def map_page(request):
    layers = list(Layer.objects.filter(visibility=Layer.Visibility.PUBLIC))
    address, location = own_place(request.user)
    district = selectors.garbage_district_at(location) if location is not None else None
    calendar = selectors.garbage_calendar(district, after=timezone.localdate()) if district else []
    hazards, home = [], None
    if location is not None:
        hazards = [
            {
                "layer": zone.layer.name,
                "name": zone.attributes.get("name", ""),
                "attributes": readable_attributes(zone.attributes, skip=["name"]),
            }
            for zone in selectors.hazard_zones_at(location)
        ]
        home = {"lon": location.x, "lat": location.y, "label": address.label}
    return render(
        request,
        "gis/map.html",
        {
            "map_config": _map_config(request, layers, mode="public", home=home),
            "layers": layers,
            "legend": legend(layer for layer in layers if not layer.style.get("basemap")),
            "form": AddressSearchForm(),
            "own_address": address,
            "own_location": location,
            "own_hazards": hazards,
            "own_district": district,
            "own_calendar": calendar,
        },
    )


def staff_map(request):
    if not selectors.can_see_staff_layers(request.user):
        raise PermissionDenied
    layers = list(Layer.objects.all())
    return render(
        request,
        "gis/staff_map.html",
        {
            "map_config": _map_config(request, layers, mode="staff"),
            "layers": layers,
            "legend": legend(layers),
        },
    )


def staff_map_at(request):
    """HTML fragment for a click on the staff map: features at the point, parcels first, with
    the residents at the parcel and the tax charges on it."""
    if not selectors.can_see_staff_layers(request.user):
        raise PermissionDenied
    try:
        at = selectors.point(request.GET["lon"], request.GET["lat"])
    except (KeyError, ValueError) as exc:
        raise Http404 from exc
    features = list(
        selectors.features_at_point(at)
        .annotate(geojson=AsGeoJSON("geometry", precision=8))
        .order_by("layer__order", "layer__slug", "id")
    )
    parcels, others = [], []
    for feature in features:
        if feature.layer.kind != Layer.Kind.PARCELS:
            attributes = readable_attributes(feature.attributes, skip=["name"])
            if not feature.attributes.get("name"):
                # Without a name, the feature's number in its layer is what identifies it.
                attributes.insert(0, (_("番号"), feature.external_id))
            others.append(
                {
                    "feature": feature,
                    "title": feature.attributes.get("name") or "",
                    "attributes": attributes,
                }
            )
            continue
        parcels.append(
            {
                "feature": feature,
                # Drawn over the map by map.js so the clerk sees which parcel this is.
                "geojson": feature.geojson,
                "attributes": readable_attributes(
                    feature.attributes, skip=["chiban", "town", "chome", "block", "lot"]
                ),
                "residents": list(resident_selectors.residents_at_parcel(feature.external_id)),
                "charges": _charges_for_parcel(feature.external_id),
            }
        )
        audit.record(
            action="gis.view_parcel",
            actor=request.user,
            obj=feature,
            purpose=_("地図で筆の情報を表示"),
            request=request,
        )
    return render(
        request, "gis/_features_at.html", {"parcels": parcels, "others": others, "at": at}
    )


def _charges_for_parcel(parcel_key: str) -> list[dict]:
    """The charges on a parcel as the clerk reads them: revenue, fiscal year, payer, amount."""
    # payments → gis would be a cycle at import time; the selector is looked up when used.
    from payments.selectors import charges_for_parcel

    language = get_language()
    return [
        {
            "revenue": charge.revenue.name_for(language),
            "fiscal_year": charge.fiscal_year,
            "payer": charge.payer.full_name,
            "amount": charge.amount,
            "description": charge.description,
        }
        for charge in charges_for_parcel(parcel_key)
    ]


@require_GET
def tile(request, slug: str, z: int, x: int, y: int):
    """One Mapbox Vector Tile. Public layers are cacheable by anybody; staff layers only by
    the browser of staff who may see them."""
    layer = get_object_or_404(Layer, slug=slug)
    if not selectors.can_see_layer(request.user, layer):
        raise PermissionDenied
    if not selectors.tile_is_valid(z, x, y):
        raise Http404
    etag = '"{}"'.format(
        hashlib.sha256(
            f"{layer.slug}/{layer.revision}/{layer.updated_at.timestamp():.6f}/{layer.min_zoom}/"
            f"{z}/{x}/{y}".encode()
        ).hexdigest()[:32]
    )
    cache_control = (
        f"public, max-age={TILE_MAX_AGE}" if layer.is_public else f"private, max-age={TILE_MAX_AGE}"
    )
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(
            selectors.cached_layer_tile(
                layer, z, x, y, audience=selectors.tile_audience(request.user)
            ),
            content_type="application/vnd.mapbox-vector-tile",
        )
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    if not layer.is_public:
        response["Vary"] = "Cookie"
    return response


@require_GET
def layer_geojson(request, slug: str):
    """GeoJSON of a small layer (or a bbox of a large one), at most 5,000 features."""
    layer = get_object_or_404(Layer, slug=slug)
    if not selectors.can_see_layer(request.user, layer):
        raise PermissionDenied
    bbox = parse_bbox(request.GET.get("bbox", ""))
    text, _count = selectors.layer_geojson(layer, bbox=bbox, limit=GEOJSON_MAX_FEATURES)
    response = HttpResponse(text, content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=60" if layer.is_public else "private, max-age=60"
    return response


def parse_bbox(value: str) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError as exc:
        raise Http404(_("bbox は 西,南,東,北 の4つの数です。")) from exc
    if not (west <= east and south <= north):
        raise Http404(_("bbox は 西,南,東,北 の4つの数です。"))
    return west, south, east, north


def staff_layer_export(request, slug: str):
    if not selectors.can_see_staff_layers(request.user):
        raise PermissionDenied
    layer = get_object_or_404(Layer, slug=slug)
    response = StreamingHttpResponse(
        selectors.iter_layer_geojson(layer), content_type="application/geo+json"
    )
    response["Content-Disposition"] = f'attachment; filename="{layer.slug}.geojson"'
    audit.record(action="gis.export", actor=request.user, obj=layer, request=request)
    return response


def staff_layers(request):
    if not selectors.can_see_staff_layers(request.user):
        raise PermissionDenied
    return render(request, "gis/staff_layers.html", {"layers": selectors.layer_summaries()})


@permission_required("geo.change_addresspoint", raise_exception=True)
def staff_unresolved(request):
    """Residents' addresses the geocoder could not place, with a form to place each."""
    form = PlaceAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = services.place_address(
                address_id=form.cleaned_data["address_id"],
                typed_address=form.cleaned_data["typed_address"],
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, _("%(key)s の位置を設定しました。") % {"key": found.address_key}
            )
            return redirect("gis:staff_unresolved")
    page = Paginator(resident_selectors.addresses_without_location(), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "gis/staff_unresolved.html", {"page": page, "form": form})


def garbage_page(request):
    """ごみ出しカレンダー: by a typed address, or the resident's own district."""
    form = AddressSearchForm(request.GET or None)
    district = found = None
    searched = False
    if form.is_valid():
        searched = True
        found, district = selectors.garbage_district_of_address(form.cleaned_data["address"])
        if district is None:
            form.add_error(
                "address",
                _("その住所のごみ収集地区が見つかりません。町名・丁目・番・号を確かめてください。"),
            )
    own_address = None
    if not searched:
        own_address, district = _own_district(request)
    calendar = selectors.garbage_calendar(district, after=timezone.localdate()) if district else []
    return render(
        request,
        "gis/garbage.html",
        {
            "form": form,
            "district": district,
            "calendar": calendar,
            "found": found,
            "own_address": own_address,
            "districts": GarbageDistrict.objects.all(),
        },
    )


def garbage_ics(request, code: str):
    district = get_object_or_404(GarbageDistrict.objects.prefetch_related("schedules"), code=code)
    today = timezone.localdate()
    start, end = today - timedelta(days=31), today + timedelta(days=365)
    stamp = district.updated_at
    body = to_ical(
        selectors.garbage_events(district, start=start, end=end),
        calendar_name=f"{settings.CITY_NAME} {district.name_ja}",
        uid_domain=request.get_host().split(":")[0] or "machiba.invalid",
        dtstamp=stamp or timezone.make_aware(datetime.combine(today, time())),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="garbage-{district.code}.ics"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


def dashboard_fingerprint() -> str:
    """The rows the garbage panel shows (cityhall.dashboard): the account's resident record and
    household (a move changes them), the address, the address's point (where an address with no
    location of its own is placed: placing it by hand or a gazetteer import moves the panel's
    district), the current areas of the garbage districts (a redrawn boundary closes a feature
    version and adds one), and the city's districts and schedules (a few hundred rows at most)."""
    from cityhall.dashboard import fingerprint_of, rows_version
    from residents.models import Address, Household, Resident

    from .models import AddressPoint, Feature, GarbageDistrict, GarbageSchedule

    resident = Resident._meta.db_table
    address = Address._meta.db_table
    mine = f"SELECT household_id FROM {resident} WHERE user_id = %(user)s"
    my_address = f"SELECT address_id FROM {Household._meta.db_table} WHERE id IN ({mine})"
    # gis.geocoding.address_key in SQL: NULL (matching no point) where Python gives "".
    key = (
        "CASE WHEN a.town <> '' AND a.banchi <> '' AND a.go <> '' THEN a.town"
        " || CASE WHEN coalesce(a.chome, 0) <> 0 THEN a.chome::text || '丁目' ELSE '' END"
        " || a.banchi || '番' || a.go || '号' END"
    )
    return fingerprint_of(
        rows_version(resident, "t.user_id = %(user)s"),
        rows_version(Household._meta.db_table, f"t.id IN ({mine})"),
        rows_version(address, f"t.id IN ({my_address})"),
        rows_version(
            AddressPoint._meta.db_table,
            f"t.address_key IN (SELECT {key} FROM {address} a WHERE a.id IN ({my_address}))",
        ),
        rows_version(
            Feature._meta.db_table,
            f"t.valid_to IS NULL AND t.layer_id IN (SELECT id FROM {Layer._meta.db_table}"
            f" WHERE kind = '{Layer.Kind.DISTRICTS_GARBAGE.value}')",
        ),
        rows_version(GarbageDistrict._meta.db_table, "TRUE"),
        rows_version(GarbageSchedule._meta.db_table, "TRUE"),
    )
