"""The notices panel on /my/ is cached in Redis and never stale after a notice is
delivered (the send writes its inbox rows with set-based SQL; cityhall.dashboard keys the panel
on the rows it shows)."""

import re

import pytest
from notices_helpers import resident_with_account, run, started_send, subscribe, template

from notices.models import Channel

pytestmark = pytest.mark.django_db


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_notices_panel_shows_a_new_notice_at_once(client):
    _resident, user = resident_with_account(address="本町1丁目2番3号")
    subscribe(user, Channel.INBOX)
    client.force_login(user)
    before = _my(client)
    assert "お知らせはまだありません" in before
    assert _my(client) == before  # served from the cache
    send = started_send(template(), {"towns": ["本町:1"]})
    run(send.pk)
    after = _my(client)
    assert "テストのお知らせ" in after and "お知らせはまだありません" not in after
