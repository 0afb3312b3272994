"""The garbage panel on /my/ is cached in Redis and never stale after a change of the
district's schedule or a move (cityhall.dashboard keys it on the rows it shows)."""

import re

from factories_gis import resident_at

from factories import UserFactory
from gis import services


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_garbage_panel_follows_a_schedule_change_at_once(client, small_city):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番1号", user=user)
    client.force_login(user)
    before = _my(client)
    assert "わたしのごみ出しの日" in before and "本町地区" in before
    assert _my(client) == before  # served from the cache
    services.set_garbage_schedule(district=small_city["district"], kind="burnable", rule="火 金")
    after = _my(client)
    assert after != before
    panel = after.split("わたしのごみ出しの日")[1].split("</ul>")[0]
    assert "（火）" in panel or "（金）" in panel, panel
