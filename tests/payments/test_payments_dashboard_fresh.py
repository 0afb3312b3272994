"""The payments panel on /my/ is cached in Redis and never stale after a payment,
whether taken by a service or settled by a batch's SQL (cityhall.dashboard keys it on the rows)."""

import re
from datetime import date

import pytest
from django.db import connection
from factories_payments import make_charge, make_resident

from payments import services

pytestmark = pytest.mark.django_db


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_payments_panel_follows_a_counter_payment_at_once(client, resident_user, clerk):
    payer = make_resident(user=resident_user)
    charge = make_charge(payer, parts=[(date(2030, 6, 30), 12_000), (date(2030, 9, 30), 8_000)])
    client.force_login(resident_user)
    before = _my(client)
    assert "20,000" in before
    assert _my(client) == before  # served from the cache
    first = charge.installments.order_by("number").first()
    services.record_counter_payment(
        payer=payer, amount=12_000, clerk=clerk, installment_ids=[first.pk]
    )
    after = _my(client)
    assert "8,000" in after and "20,000" not in after


def test_the_payments_panel_follows_money_written_by_sql(client, resident_user):
    """A batch (konbini import, billing run) writes with set-based SQL that no Django signal
    sees; the panel still changes, because its key is the rows' versions."""
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    assert "12,000" in _my(client)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_revenue SET name_ja = name_ja || '（改）'"
            " WHERE id IN (SELECT revenue_id FROM payments_charge WHERE payer_id = %s)",
            [payer.pk],
        )
    assert "（改）" in _my(client)
