"""The resident's dashboard (/my/) is made of panels that the apps contribute.

A panel is a template and a function that returns its context for one user (or None to hide the
panel). Apps register panels in AppConfig.ready(), so the shared core does not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    context: Callable[[Any], dict | None]
    order: int = 100


_panels: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _panels[panel.key] = panel


def panels_for(user) -> list[tuple[Panel, dict]]:
    """The panels to show this user, in order, each with its context."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda item: (item.order, item.key)):
        context = panel.context(user)
        if context is not None:
            shown.append((panel, context))
    return shown
