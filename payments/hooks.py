"""Who wants to know when a charge is settled (完納).

Other apps register a callback for the origins they create, e.g. procedures for
``"procedures.application:"``::

    from payments.hooks import on_settled

    @on_settled("procedures.application:")
    def application_paid(origin: str, charge_id: int) -> None: ...

The callback runs after the commit of the transaction in which the charge's last installment
became fully allocated (``transaction.on_commit``), exactly once per charge: the charge row is
locked and marked before the callback is queued, and the mark is never cleared. A callback that
raises is logged and does not undo the payment; it should be idempotent and queue its own task
for slow work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

SettledCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class _Registration:
    origin_prefix: str
    callback: SettledCallback


_registry: list[_Registration] = []


def on_settled(origin_prefix: str) -> Callable[[SettledCallback], SettledCallback]:
    """Decorator: call ``callback(origin, charge_id)`` when a charge whose origin starts with
    ``origin_prefix`` becomes fully paid. Registering the same function twice has no effect."""

    def register(callback: SettledCallback) -> SettledCallback:
        registration = _Registration(origin_prefix, callback)
        if registration not in _registry:
            _registry.append(registration)
        return callback

    return register


def callbacks_for(origin: str | None) -> list[SettledCallback]:
    if not origin:
        return []
    return [item.callback for item in _registry if origin.startswith(item.origin_prefix)]


def run_settled(origin: str, charge_id: int) -> None:
    """Call every callback for ``origin``; one failing callback does not stop the others."""
    for callback in callbacks_for(origin):
        try:
            callback(origin, charge_id)
        except Exception:
            logger.exception(
                "settled hook %r failed for %s (charge %s)", callback, origin, charge_id
            )
