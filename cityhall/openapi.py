"""What the OpenAPI schema says beyond each view's own annotations, applied once to every
operation by drf-spectacular postprocessing hooks (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

- Error responses. Every API answer of DRF's exception handler has the same shape (`{"detail":
  …}`, or field → messages for a 400), so the statuses a client must handle are documented here
  instead of on each view: 403 everywhere, 401 where the operation needs a session, 404 where the
  path, a parameter or a written body names a row, 400 where the client sends parameters or a
  body, 409 where a write can meet a state that forbids it. A view that documents a status itself keeps its own description.
- Clock times. The API writes the local time of day of the city hall ("08:30" or "08:30:00",
  Asia/Tokyo, no offset). JSON Schema's `format: time` is RFC 3339's full-time, which requires
  an offset, so those fields are documented as a pattern instead.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "ErrorDetail"
VALIDATION_ERROR_COMPONENT = "ValidationErrorDetail"

# {"detail": "…"} from DRF; some refusals list several messages, or name the field at fault.
ERROR_SCHEMA = {
    "type": "object",
    "description": "エラーの説明 / what went wrong, in the user's language",
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    },
    "additionalProperties": {},
}
# DRF answers a 400 with {"field": ["message", …]} (or {"detail": …}), or with a list of
# messages when the view raised ValidationError("…") without a field.
VALIDATION_ERROR_SCHEMA = {
    "description": "項目ごとのエラー / messages by field, in the user's language",
    "anyOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
}
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _response(description: str, component: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> dict[str, dict]:
    """The error responses `operation` can answer with, besides those it documents itself."""
    parameters = operation.get("parameters", [])
    statuses: dict[str, dict] = {}
    if parameters or "requestBody" in operation:
        statuses["400"] = _response("入力の誤り / invalid input", VALIDATION_ERROR_COMPONENT)
    if {} not in operation.get("security", [{}]):
        statuses["401"] = _response("未ログイン / not signed in", ERROR_COMPONENT)
    # Also an open operation can refuse: a write without the CSRF token of a signed-in session,
    # staff without MFA or outside the office networks (cityhall.middleware).
    statuses["403"] = _response("許可されていない / not allowed", ERROR_COMPONENT)
    # A row named by the path, by a query parameter (?resident=) or in a written body.
    if parameters or method in WRITE_METHODS:
        statuses["404"] = _response("見つからない / not found", ERROR_COMPONENT)
    if method in WRITE_METHODS:
        statuses["409"] = _response(
            "今の状態ではできない / conflicts with the current state", ERROR_COMPONENT
        )
    return statuses


def _local_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "time":
            del node["format"]
            node["pattern"] = LOCAL_TIME_PATTERN
            node.setdefault("description", "時刻 HH:MM[:SS] (Asia/Tokyo)")
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def document_errors_and_times(result: dict, generator, request, public) -> dict:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    schemas.setdefault(VALIDATION_ERROR_COMPONENT, VALIDATION_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in error_statuses(path, method, operation).items():
                operation["responses"].setdefault(status, response)
    _local_times(result)
    return result
