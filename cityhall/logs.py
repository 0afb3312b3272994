"""Logs as one JSON object per line, each carrying the request id of the web request it belongs
to; a Celery task started by that request logs the same id (django-guid passes it in the task's
headers). `make run` writes them under var/log/; containers write them to stdout."""

from __future__ import annotations

import logging
import time

from django.urls import Resolver404, resolve
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

access = logging.getLogger("machiba.request")

# Probes and scrapes arrive every few seconds; they are logged only at DEBUG.
QUIET_PATHS = ("/livez", "/healthz", "/metrics")


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "message", "request_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601 in UTC, whatever the process's zone
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)


class RequestLogMiddleware:
    """One line per request: method, path, view, status and time taken."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            view = resolve(request.path_info).view_name
        except Resolver404:
            view = ""
        level = logging.DEBUG if request.path.startswith(QUIET_PATHS) else logging.INFO
        access.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "view": view,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response
