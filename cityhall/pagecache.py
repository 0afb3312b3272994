"""Whole public pages kept in Redis for people who are not signed in.

The home page and the procedure catalogue are the same for every anonymous visitor in one
language, apart from the CSRF token of the language switch (a form on every page). The page is
stored with that token blanked and each visitor's own token put back when it is served, so the
form keeps working and no visitor gets another's token. A visitor with a session or a pending
message (after signing out, say) is served a freshly rendered page; so is every signed-in
person. The answer varies on the cookie and the language (Vary: Cookie, Accept-Language), and
keeps `Cache-Control: no-store` for browsers and proxies (cityhall.middleware.NoStoreMiddleware):
the stored copy is the server's own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_SLOT = "\x00csrf\x00"
# Query strings longer than this (no real search is) are rendered, not stored.
MAX_QUERY = 200


def anonymous_page_cache(seconds: int, *, version: Callable[[], str] | None = None) -> Callable:
    """Serve a GET from anonymous visitors from Redis for `seconds`; `version()` (e.g. the
    fingerprint of the rows shown) is part of the key, so a change is shown at once."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            query = request.META.get("QUERY_STRING", "")
            if (
                request.method != "GET"
                or request.user.is_authenticated
                or settings.SESSION_COOKIE_NAME in request.COOKIES
                or "messages" in request.COOKIES
                or len(query) > MAX_QUERY
            ):
                return view(request, *args, **kwargs)
            parts = [request.path, query, get_language() or "", version() if version else ""]
            key = "page:" + hashlib.sha1("\n".join(parts).encode()).hexdigest()
            stored = cache.get(key)
            if stored is None:
                response = view(request, *args, **kwargs)
                if response.status_code != 200 or response.streaming:
                    return response
                html = _TOKEN.sub(rf"\g<1>{_SLOT}\g<2>", response.content.decode())
                stored = {"html": html, "type": response["Content-Type"]}
                cache.set(key, stored, seconds)
            response = HttpResponse(
                stored["html"].replace(_SLOT, get_token(request)),
                content_type=stored["type"],
            )
            response["Content-Language"] = get_language()
            patch_vary_headers(response, ("Cookie", "Accept-Language"))
            return response

        return wrapped

    return decorator
