"""The 360 view's bills are labelled and formatted, never a Python dict."""

from __future__ import annotations

from datetime import date

import pytest
from factories_payments import make_charge, make_resident
from readable_check import assert_readable, visible_text

from payments import services as payment_services


@pytest.fixture
def billed_resident(db, clerk):
    resident = make_resident(family_name="請求", given_name="花子")
    charge = make_charge(
        resident,
        code="fixed_asset_tax",
        fiscal_year=2025,
        parts=((date(2025, 4, 30), 123_456), (date(2099, 7, 31), 20_000)),
    )
    first = charge.installments.order_by("number").first()
    payment_services.record_counter_payment(
        payer=resident,
        amount=3_456,
        clerk=clerk,
        installment_ids=[first.pk],
        paid_on=date(2025, 5, 7),
    )
    return resident


def test_360_view_shows_bills_in_words_and_yen(clerk_client, billed_resident):
    response = clerk_client.get(f"/staff/counter/residents/{billed_resident.pk}/")
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert_readable(text, lang="ja")
    for raw in ("charge_id", "revenue_code", "overdue", "open_installments", "True", "False"):
        assert raw not in text, raw
    assert "固定資産税" in text and "2025年度" in text and "第1期" in text
    assert "2025年4月30日" in text and "納期限超過" in text
    assert "123,456円" in text and "120,000円" in text  # the amount and what is left
    assert "未納の期別" in text and "2 件" in text and "うち納期限を過ぎたもの 1 件" in text
    # The payment: its date, channel, amount and state in words.
    assert "2025年5月7日" in text and "窓口" in text and "3,456円" in text and "収納済" in text


def test_360_view_in_english_uses_one_language_for_money_and_dates(clerk_client, billed_resident):
    clerk_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = clerk_client.get(f"/staff/counter/residents/{billed_resident.pk}/")
    text = visible_text(response.content.decode())
    assert_readable(text, lang="en")
    assert "123,456 yen" in text and "Apr 30, 2025" in text and "FY2025" in text
    assert "円" not in text and "2025年" not in text
