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


def dashboard(request, *, read=None, live_slots: bool = False) -> tuple[int, list[SafeString]]:
    """(unread notifications, the HTML of each panel shown) for the signed-in user.

    One query reads every fingerprint; one Redis round trip fetches the panels rendered under
    them; only the panels whose rows changed (or that keep no fingerprint) are computed.
    `read` is that query's row when the caller has it already; with `live_slots`, a panel that
    keeps no fingerprint is left as a slot (live_slot) for dashboard_page to fill per request."""
    user = request.user
    unread, *prints = read if read is not None else _read_prints(user.pk)
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
        if live_slots and key is None:
            shown.append(mark_safe(live_slot(panel)))  # noqa: S308 - a marker of our own
            continue
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


# The whole page, kept in Redis for a signed-in resident.
#
# Rendering the page around the panels (base.html's menus and language switch, in the
# reader's language) cost about as much CPU as everything else on an unchanged /my/, so the
# rendered page is kept too, keyed by everything it shows: the resident, the language and the
# day, the unread count, each panel's fingerprint (so a change to a panel's rows, by any path,
# is a new key at once, exactly as for the panels), and the account's own fields and staff
# standing that the menus read. What differs per request is put back when it is served: the
# visitor's CSRF token (pagecache's slot) and the panels without a fingerprint (the counter's
# congestion, which must show a new summary at once), rendered on every request as before.
# A page with a pending message or a query string is rendered, never stored.
PAGE_CACHE_SECONDS = PANEL_CACHE_SECONDS
_SECTION = '<section class="panel">{}</section>'


def live_slot(panel: Panel) -> str:
    return f"\x00panel:{panel.key}\x00"


def _account_digest(user) -> str:
    """What the page shell reads of the account: every field and whether it is staff."""
    from .roles import is_staff_member

    values = [getattr(user, field.attname) for field in user._meta.concrete_fields]
    return hashlib.sha1(repr((values, is_staff_member(user))).encode()).hexdigest()


def dashboard_page(request, *, template: str):
    """The /my/ response: the stored page with the per-request parts put back, or a page
    rendered (and stored) when the stored one is missing or must not be used."""
    from django.contrib.messages import get_messages
    from django.http import HttpResponse
    from django.middleware.csrf import get_token
    from django.shortcuts import render

    from .pagecache import _SLOT, _TOKEN

    user = request.user
    read = _read_prints(user.pk)
    storable = not request.META.get("QUERY_STRING") and not len(get_messages(request))
    if not storable:
        unread, panels = dashboard(request, read=read)
        return render(request, template, {"panels": panels, "unread": unread})
    scope = f"{get_language()}:{timezone.localdate().isoformat()}"
    key = (
        "dashpage:"
        + hashlib.sha1(
            f"{template}:{user.pk}:{scope}:{_account_digest(user)}:{read}".encode()
        ).hexdigest()
    )
    live = [panel for panel in _ordered() if not panel.fingerprint]
    html = cache.get(key)
    if html is None:
        unread, panels = dashboard(request, read=read, live_slots=True)
        page = render(request, template, {"panels": panels, "unread": unread}).content.decode()
        html = _TOKEN.sub(rf"\g<1>{_SLOT}\g<2>", page)
        # Stored only when every live panel's section is where it can be put back, and some
        # panel with a fingerprint is shown (otherwise the empty-state text depends on the
        # live panels too).
        sections = [_SECTION.format(live_slot(panel)) for panel in live]
        if all(section in html for section in sections) and len(panels) > len(live):
            cache.set(key, html, PAGE_CACHE_SECONDS)
        else:
            unread, panels = dashboard(request, read=read)
            return render(request, template, {"panels": panels, "unread": unread})
    for panel in live:
        context = panel.context(user)
        filled = (
            ""
            if context is None
            else _SECTION.format(
                render_to_string(panel.template, {"panel": context}, request=request)
            )
        )
        html = html.replace(_SECTION.format(live_slot(panel)), filled)
    return HttpResponse(html.replace(_SLOT, get_token(request)))
