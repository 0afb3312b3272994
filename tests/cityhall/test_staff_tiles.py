"""The staff dashboard shows each person only the tiles that open for them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from cityhall import navigation

pytestmark = pytest.mark.django_db

ADMIN_INDEX = "/staff/admin/django/"


def _tiles(client: Client) -> list[str]:
    body = client.get("/staff/").content.decode()
    cards = re.findall(r'<li class="card"><a href="([^"]+)"', body)
    assert cards, "the dashboard shows no tiles at all"
    return cards


def _opens(client: Client, url: str) -> bool:
    response = client.get(url)
    if response.status_code in (401, 403, 404):
        return False
    # Django's admin sends accounts it does not accept to its own login page.
    return not (response.status_code == 302 and "login" in response.url)


@pytest.mark.parametrize("role", ["clerk", "supervisor", "admin_user"])
def test_every_tile_shown_opens_and_every_tile_hidden_would_not(request, role):
    user = request.getfixturevalue(role)
    client = Client()
    client.force_login(user)
    shown = _tiles(client)
    for url in shown:
        assert _opens(client, url), f"{role} sees the tile {url} but it does not open for them"
    hidden = {link.url for link in navigation.staff_links()} - set(shown)
    for url in hidden:
        assert not _opens(client, url), f"{role} may open {url} but its tile is not shown"


def test_system_administration_is_shown_only_to_admins(clerk, supervisor, admin_user):
    for user, expected in ((clerk, False), (supervisor, False), (admin_user, True)):
        client = Client()
        client.force_login(user)
        body = client.get("/staff/").content.decode()
        assert ("システム管理" in body) is expected, user
        assert (f'href="{ADMIN_INDEX}"' in body) is expected, user


def test_clerks_do_not_get_the_supervisor_and_admin_tiles(clerk):
    client = Client()
    client.force_login(clerk)
    shown = _tiles(client)
    assert reverse("counter:stats") not in shown
    assert reverse("procedures:admin_procedures") not in shown
    assert reverse("counter:desk_pick") in shown and reverse("procedures:case_queue") in shown
