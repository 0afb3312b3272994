"""The demo city's facilities — 12 facilities with about 40 units on the map, 30
groups, and a closed lottery round of 3,000 entries that a supervisor can draw; twice is once."""

from __future__ import annotations

import io
import json

import pytest

from cityhall.seeding import SeedContext
from facilities import draw
from facilities.models import Entry, Facility, LotteryRound, Registration, Unit
from facilities.seed import demo_facilities
from facilities.services import lottery, places
from factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_city_has_facilities_groups_and_a_round_ready_to_draw(client, supervisor):
    UserFactory(role="clerk", email="clerk@demo.machiba.jp")
    ctx = SeedContext(residents=0, parcels=0, stdout=io.StringIO())
    demo_facilities(ctx)
    counts = (Facility.objects.count(), Unit.objects.count(), Registration.objects.count())
    demo_facilities(ctx)
    assert (Facility.objects.count(), Unit.objects.count(), Registration.objects.count()) == counts

    assert Facility.objects.count() == 12
    assert 38 <= Unit.objects.count() <= 42
    assert Registration.objects.filter(kind="group", state="approved").count() == 30
    round_ = LotteryRound.objects.get(state="closed")
    assert Entry.objects.filter(round=round_).count() == 3_000
    # The commitment is published: the hash of the seed and of the entries file.
    assert draw.sha256_hex(bytes.fromhex(round_.seed)) == round_.seed_sha256
    assert draw.sha256_hex(bytes(round_.entries_file)) == round_.entries_sha256
    layer = json.loads(client.get(f"/gis/layers/{places.MAP_LAYER}.geojson").content)
    assert len(layer["features"]) == 12

    lottery.start_draw(round_=round_, clerk=supervisor)
    round_ = lottery.run_draw(round_.pk)
    assert round_.state == "drawn"
    won = Entry.objects.filter(round=round_, state="won").count()
    assert 0 < won < 3_000
    lottery.publish(round_=round_, clerk=supervisor)
    round_.refresh_from_db()
    results = json.loads(bytes(round_.results_file))
    assert (
        draw.verify(bytes(round_.entries_file), results, published_seed_sha256=round_.seed_sha256)
        == []
    )
