"""Events the business apps raise, for whoever listens (today: the notices app).

The apps below (residents, gis, payments, procedures, counter) tell the city's notice service
that something happened to a resident or a district without importing it: they call
`raise_event("payments.demand_issued", resident_id=…, context={…})` and the handlers registered
here (notices registers one in its AppConfig.ready) take it from there. A handler runs inside the
caller's transaction, so what it writes (an outbox row) commits or rolls back with the change
that raised it; anything slow happens later, after commit, in Celery.

`dedupe_key` makes raising idempotent: the same key raised twice (a retried batch, a repeated
call) is one event for the listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    key: str
    resident_id: int | None = None
    user_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str = ""


Handler = Callable[[Event], None]

_handlers: dict[str, Handler] = {}


def register_handler(name: str, handler: Handler) -> None:
    """Listen to every event; `name` keeps a second registration from doubling the handler."""
    _handlers[name] = handler


def raise_event(
    key: str,
    *,
    resident_id: int | None = None,
    user_id: int | None = None,
    context: dict[str, Any] | None = None,
    dedupe_key: str = "",
) -> Event:
    """Tell the listeners that `key` happened (to the resident, if given). Context values must
    be JSON-serialisable (str, int, dates as ISO text)."""
    event = Event(
        key=key,
        resident_id=resident_id,
        user_id=user_id,
        context=dict(context or {}),
        dedupe_key=dedupe_key,
    )
    for handler in list(_handlers.values()):
        handler(event)
    return event
