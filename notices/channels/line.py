"""LINE Messaging API through LINE's own SDK (line-bot-sdk 3.x, `linebot.v3.messaging`).

`multicast` sends one text to up to 500 user ids with an `X-Line-Retry-Key`: LINE accepts a key
once, and a repeat of an accepted request answers 409, which therefore means "already sent". The
base URL is a setting (MACHIBA_LINE_API_URL), so tests and benchmarks point the real SDK at a
local server that implements the endpoints used.
"""

from __future__ import annotations

from functools import cache

import urllib3
from django.conf import settings
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    MulticastRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException

from . import ACCEPTED, PERMANENT, RATE_LIMITED, TECHNICAL, TEMPORARY, Outcome

MULTICAST_LIMIT = 500
TIMEOUT_SECONDS = 10


@cache
def _api(host: str, token: str) -> MessagingApi:
    configuration = Configuration(host=host, access_token=token)
    # Retries are ours (same retry key, Notify's schedule), not urllib3's.
    configuration.retries = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
    return MessagingApi(ApiClient(configuration))


def api() -> MessagingApi:
    return _api(
        settings.NOTICES_LINE_API_URL.rstrip("/"), settings.NOTICES_LINE_CHANNEL_ACCESS_TOKEN
    )


def multicast(*, user_ids: list[str], text: str, retry_key: str) -> Outcome:
    if not 1 <= len(user_ids) <= MULTICAST_LIMIT:
        raise ValueError(f"multicast takes 1 to {MULTICAST_LIMIT} user ids, got {len(user_ids)}")
    request = MulticastRequest(to=user_ids, messages=[TextMessage(text=text)])
    try:
        api().multicast(request, x_line_retry_key=retry_key, _request_timeout=TIMEOUT_SECONDS)
    except ApiException as exc:
        detail = f"HTTP {exc.status}"
        if exc.status == 409:
            # The retry key was accepted before: the messages went out then.
            return Outcome(ACCEPTED, "409: accepted earlier with this retry key")
        if exc.status == 429:
            return Outcome(RATE_LIMITED, detail)
        if exc.status is not None and exc.status >= 500:
            return Outcome(TEMPORARY, detail)
        if exc.status == 400:
            return Outcome(PERMANENT, detail)
        return Outcome(TECHNICAL, detail)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Outcome(TEMPORARY, type(exc).__name__)
    return Outcome(ACCEPTED)
