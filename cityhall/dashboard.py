"""The resident's dashboard (/my/) is made of panels that the apps contribute.

A panel is a template and a function that returns its context for one user (or None to hide the
panel). Apps register panels in AppConfig.ready(), so the shared core does not depend on them.

A panel may also declare a *fingerprint*: SQL over ``%(user)s`` whose value changes whenever a
row the panel shows changes. The fingerprints of every panel are read in one statement per
request (built once, when the first dashboard is drawn), and a panel whose fingerprint is
unchanged is served as the HTML it rendered last time, kept in Redis. The rows' own versions
(``xmin`` and ``ctid``: every insert or update writes a new row version, with the writing
transaction's id and a new place, so even a second update in one transaction shows; and the row
ids, which tell a deletion) are the key, so a change made by any path is seen at once: a service through the ORM,
a batch's set-based SQL (the konbini import, the billing run, a notice send) or a clerk in the
admin. No service has to remember to invalidate the cache, and none can forget to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# A cached panel also expires after this long, for what changes with the clock alone (a booking
# that has started, a late charge that grew by a day) rather than with a row.
PANEL_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    context: Callable[[Any], dict | None]
    order: int = 100
    # SQL (a text expression over %(user)s, e.g. from rows_version()) that changes whenever
    # anything this panel shows changes; None: the panel is computed on every request.
    fingerprint: str | None = None


_panels: dict[str, Panel] = {}
_fingerprint_sql: str | None = None


def register_panel(panel: Panel) -> None:
    global _fingerprint_sql
    _panels[panel.key] = panel
    _fingerprint_sql = None


def rows_version(table: str, where: str) -> str:
    """SQL text naming every row of `table` (aliased t) matching `where` by id and version."""
    return (
        "(SELECT coalesce(string_agg(t.id::text || ':' || t.xmin::text || t.ctid::text, ','"
        " ORDER BY t.id), '') "
        f"FROM {table} t WHERE {where})"
    )


def fingerprint_of(*parts: str) -> str:
    return " || '|' || ".join(parts)


def _ordered() -> list[Panel]:
    return sorted(_panels.values(), key=lambda item: (item.order, item.key))


def _statement() -> str:
    """One SELECT: the unread notifications and each fingerprinted panel's md5."""
    global _fingerprint_sql
    if _fingerprint_sql is None:
        columns = [
            "(SELECT count(*) FROM cityhall_notification"
            " WHERE user_id = %(user)s AND read_at IS NULL)"
        ]
        columns += [f"md5({panel.fingerprint})" for panel in _ordered() if panel.fingerprint]
        _fingerprint_sql = "SELECT " + ", ".join(columns)
    return _fingerprint_sql


def _read_prints(user_id: int) -> tuple:
    """Run the fingerprint statement as a prepared statement of this connection.

    Planning the statement (two dozen sub-selects over a dozen tables) cost more than running
    it: 8-13 ms against 1-3 ms in EXPLAIN ANALYZE with 200 residents. A statement PREPAREd once
    per connection (connections are kept across requests, DATABASE_CONN_MAX_AGE) is planned
    once; PostgreSQL re-plans it by itself when a table it reads is altered. PREPARE is not
    undone by a rollback (PostgreSQL's PREPARE: "prepared statements only last for the
    duration of the current database session"), so a prepared name is known for as long as
    the connection lives; the name carries a hash of the text, so a new panel registered later
    prepares a new statement."""
    sql = _statement()
    name = "machiba_dash_" + hashlib.sha1(sql.encode()).hexdigest()[:16]
    connection.ensure_connection()
    raw = connection.connection
    prepared = getattr(connection, "_machiba_prepared", None)
    if prepared is None or prepared[0] is not raw:
        prepared = connection._machiba_prepared = (raw, set())
    with connection.cursor() as cursor:
        if name not in prepared[1]:
            cursor.execute(f"PREPARE {name}(bigint) AS " + sql.replace("%(user)s", "$1"))
            prepared[1].add(name)
        cursor.execute(f"EXECUTE {name}(%s)", [user_id])
        return cursor.fetchone()


def panels_for(user) -> list[tuple[Panel, dict]]:
    """The panels to show this user, in order, each with its context (computed, not cached)."""
    shown = []
    for panel in _ordered():
        context = panel.context(user)
        if context is not None:
            shown.append((panel, context))
    return shown


def dashboard(request) -> tuple[int, list[SafeString]]:
    """(unread notifications, the HTML of each panel shown) for the signed-in user.

    One query reads every fingerprint; one Redis round trip fetches the panels rendered under
    them; only the panels whose rows changed (or that keep no fingerprint) are computed."""
    user = request.user
    unread, *prints = _read_prints(user.pk)
    fingerprinted = [panel for panel in _ordered() if panel.fingerprint]
    # The language and the day are part of the key: panels are words in the reader's language,
    # and dates ("next collection", "overdue") move at midnight.
    scope = f"{get_language()}:{timezone.localdate().isoformat()}"
    keys = {
        panel.key: "dash:"
        + hashlib.sha1(f"{panel.key}:{user.pk}:{scope}:{value}".encode()).hexdigest()
        for panel, value in zip(fingerprinted, prints, strict=True)
    }
    found = cache.get_many(list(keys.values())) if keys else {}
    shown: list[SafeString] = []
    fresh: dict[str, str] = {}
    for panel in _ordered():
        key = keys.get(panel.key)
        if key is not None and key in found:
            html = found[key]
        else:
            context = panel.context(user)
            html = (
                ""
                if context is None
                else render_to_string(panel.template, {"panel": context}, request=request)
            )
            if key is not None:
                fresh[key] = html
        if html:
            shown.append(mark_safe(html))  # noqa: S308 - our own templates' output
    if fresh:
        cache.set_many(fresh, PANEL_CACHE_SECONDS)
    return unread, shown
