"""What the API's parts share: how a service's refusal becomes a response (403, or 409 with
the messages by field), how an action URL of a row runs its service, and how a date parameter
is read.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

MAX_DAYS = 31


def _refused(error: ValidationError | PermissionDenied) -> Response:
    if isinstance(error, PermissionDenied):
        return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
    if hasattr(error, "error_dict"):
        return Response(
            {
                field: [str(m) for e in errors for m in e.messages]
                for field, errors in error.error_dict.items()
            },
            status=status.HTTP_409_CONFLICT,
        )
    return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)


def _act(row, step, serializer_class) -> Response:
    """Run the service step an action URL names (None: no such action, a 404) on `row` and
    answer the row as it is after it; a service's refusal is answered by ``_refused``."""
    if step is None:
        raise NotFound
    try:
        step()
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    row.refresh_from_db()
    return Response(serializer_class(row).data)


def _date_param(request, name: str, default: date) -> date:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({name: "YYYY-MM-DD"}) from None
