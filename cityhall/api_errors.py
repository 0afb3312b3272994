"""Errors the API answers before (or instead of) a view, in the API's JSON shape.

- A NUL character in the path or the query string is refused with 400 before any view runs.
  PostgreSQL text cannot hold NUL (psycopg2 raises ValueError), so `?area=%00` used to reach a
  filter and end as a 500. Form and JSON fields are covered by DRF's and Django's own
  ProhibitNullCharactersValidator; the URL had nothing.
- A URL under /api/ that names no route (`/api/taxes/runs/abc/`) is a JSON 404 like the views'
  own, not the HTML page people get (cityhall/urls.py's handler404).
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

UTF8 = {"ensure_ascii": False}


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            message = _("URL に使えない文字（NUL）が含まれています。")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400, json_dumps_params=UTF8)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("見つかりません。")}, status=404, json_dumps_params=UTF8)
    return defaults.page_not_found(request, exception)


class ObjectJSONParser(JSONParser):
    """Every request body of the API is a JSON object (the schema says so); a list or a bare
    value is a 400 here rather than an AttributeError in a view that reads `request.data.get`."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError(_("本文は JSON のオブジェクト（{…}）で送ってください。"))
        return data
