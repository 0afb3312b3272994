"""GET /api/facilities/availability/, the most read answer of the app: public, the same for
everyone, made by PostgreSQL in one query and kept (in this process and in Redis) while the
data version and the minute stand. cityhall/urls.py routes it ahead of the pages.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny

from .. import selectors
from ..services.common import now, rules, today
from .common import MAX_DAYS, _date_param


class AvailabilitySlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    period = serializers.CharField(help_text="区分コード (am, pm, night); empty when hourly")
    status = serializers.ChoiceField(choices=selectors.SLOT_STATUSES)


class AvailabilityUnitSerializer(serializers.Serializer):
    facility = serializers.CharField()
    unit = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    slots = AvailabilitySlotSerializer(many=True)


@extend_schema(
    parameters=[
        OpenApiParameter("kind", str, description="施設の種類 (gym, hall, meeting, tennis, …)"),
        OpenApiParameter("area", str, description="地区 (Japanese name)"),
        OpenApiParameter("facility", str, description="施設コード"),
        OpenApiParameter("from", date, description="first day (default today)"),
        OpenApiParameter(
            "days",
            {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
            description=f"number of days, 1–{MAX_DAYS} (default 7)",
        ),
    ],
    responses=AvailabilityUnitSerializer(many=True),
    summary="空き状況 / availability (fees: the facility's detail, by period)",
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def _availability_api(request):
    # The DRF face of the availability answer: its schema, and its 400s (a valid GET is
    # answered by ``availability`` before DRF is reached, with the same bytes and headers).
    first = _date_param(request, "from", today())
    try:
        days = int(request.query_params.get("days", 7))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise serializers.ValidationError({"days": f"1–{MAX_DAYS}"})
    params = {key: request.query_params.get(key, "") for key in ("kind", "area", "facility")}
    return _availability_response(request, _availability_answer(params, first, days))


def availability(request):
    """GET /api/facilities/availability/: the most read answer of the app, public and the same
    for everyone, so a valid GET skips DRF (content negotiation, its Request) and is served
    from this process's copy when the data version in Redis says it still stands: one small
    Redis GET per request. Anything else (a bad parameter, another method) goes to DRF."""
    if request.method == "GET":
        asked = _availability_asked(request.GET)
        if asked is not None:
            return _availability_response(request, _availability_answer(*asked))
    return _availability_api(request)


# drf-spectacular (and DRF's own schema) describe the view by its class: the routed function
# carries the DRF view's, so the endpoint stays in the OpenAPI schema as it is.
availability.cls = _availability_api.cls
availability.initkwargs = _availability_api.initkwargs
availability.csrf_exempt = True


class _Answer(NamedTuple):
    version: int
    minute: int
    body: bytes
    etag: str


# The answers this process made or fetched last, by parameters: at most this many (a month of a
# facility type is about 70 kB), the oldest dropped first.
_ANSWERS: OrderedDict[str, _Answer] = OrderedDict()
_ANSWERS_KEPT = 128
_ANSWERS_LOCK = threading.Lock()


def _availability_asked(query) -> tuple[dict, date, int] | None:
    """The parameters of a valid query, or None (DRF then answers the 400)."""
    try:
        # An empty `from` is refused like any other bad date (by DRF below), not read as today.
        first = date.fromisoformat(query["from"]) if "from" in query else today()
        days = int(query.get("days", 7))
    except ValueError:
        return None
    if not 1 <= days <= MAX_DAYS:
        return None
    return {key: query.get(key, "") for key in ("kind", "area", "facility")}, first, days


def _availability_answer(params: dict, first: date, days: int) -> _Answer:
    """The answer to these parameters: this process's copy, else Redis's, else computed.

    A copy stands while the data version (raised after the commit of every change of bookings,
    closures and rounds) and the minute (a slot whose start passes turns from free to past) are
    the same. The version is read before the data, so an answer computed from data older than a
    change is stored under the version before it and never served after it. Without Redis
    (version None) every answer is computed and none kept."""
    moment = now()
    minute = int(moment.timestamp() // 60)
    key = (
        "facilities:availability:answer:"
        + hashlib.sha256(json.dumps([params, first.isoformat(), days]).encode()).hexdigest()
    )
    version = selectors.availability_version_now()
    mine = _ANSWERS.get(key)
    if mine is not None and version is not None and mine[:2] == (version, minute):
        return mine
    if version is None:
        version = selectors.availability_version() if cache.is_available() else None
    shared = cache.get(key) if version is not None else None
    if shared is not None and len(shared) == 4 and tuple(shared[:2]) == (version, minute):
        answer = _Answer(*shared)
    else:
        body = _availability(params, first, days, moment)
        answer = _Answer(version or 0, minute, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        if version is None:
            return answer
        cache.set(key, tuple(answer), timeout=120)
    with _ANSWERS_LOCK:  # threaded servers share the dict
        _ANSWERS[key] = answer
        _ANSWERS.move_to_end(key)
        while len(_ANSWERS) > _ANSWERS_KEPT:
            _ANSWERS.popitem(last=False)
    return answer


def _availability_response(request, answer: _Answer) -> HttpResponse:
    """The answer with its validator: a browser or proxy may keep it (public data, no person in
    it) but must ask again each time (no-cache), and an If-None-Match that still matches gets
    304 without the body. LocaleMiddleware adds Vary: Accept-Language."""
    response = HttpResponse(answer.body, content_type="application/json")
    response["ETag"] = answer.etag
    patch_cache_control(response, public=True, no_cache=True)
    return get_conditional_response(request, etag=answer.etag, response=response) or response


def _availability(params: dict, first: date, days: int, moment: datetime) -> bytes:
    """The answer's JSON, made by PostgreSQL in one query (selectors.availability_json)."""
    units = selectors.search_units(kind=params["kind"], area=params["area"])
    if params["facility"]:
        units = units.filter(facility__code=params["facility"])
    return selectors.availability_json(
        units,
        first=first,
        last=first + timedelta(days=days - 1),
        rules=rules(),
        today=today(),
        now=moment,
    ).encode()
