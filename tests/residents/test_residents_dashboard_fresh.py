"""The residents panel on /my/ is cached in Redis and never stale after a move or a
birth in the household (cityhall.dashboard keys it on the rows it shows)."""

import re
from datetime import date

import pytest
from factories_residents import family

from residents import services
from residents.models import Resident

pytestmark = pytest.mark.django_db


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_residents_panel_follows_a_move_and_a_birth_at_once(client, resident_user, clerk):
    head, spouse, child = family(address="本町3丁目12番4号")
    head.user = resident_user
    head.save(update_fields=["user"])
    client.force_login(resident_user)
    before = _my(client)
    assert "本町3丁目12番4号" in before and "3 人" in before
    assert _my(client) == before  # served from the cache
    services.register_relocation(
        residents=[head, spouse, child],
        address="栄町1丁目2番3号",
        effective_on=date(2026, 4, 1),
        notified_on=date(2026, 4, 1),
        clerk=clerk,
    )
    moved = _my(client)
    summary = moved.split('id="my-record-summary"')[1].split("</dl>")[0]
    assert "栄町1丁目2番3号" in summary and "本町3丁目12番4号" not in summary
    services.register_birth(
        family_name=head.family_name,
        given_name="はな",
        family_name_kana=head.family_name_kana,
        given_name_kana="ハナ",
        birth_date=date(2026, 5, 1),
        sex="female",
        notified_on=date(2026, 5, 2),
        household=Resident.objects.get(pk=head.pk).household,
        relationship="子",
        clerk=clerk,
    )
    born = _my(client)
    assert "4 人" in born.split('id="my-record-summary"')[1].split("</dl>")[0]
