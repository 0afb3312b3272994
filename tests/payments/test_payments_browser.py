"""A resident sees two revenues on one statement and pays both by card: with the sandbox (a
declined card is retried on the same checkout page) and through a hosted checkout at the
provider (a local stub of its API), the statement shows them paid."""

from __future__ import annotations

from datetime import date

import pytest
from factories_payments import make_charge, make_resident

from factories import PASSWORD
from payments.models import Installment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_pays_two_revenues_on_one_statement_with_the_sandbox_card(
    page, resident_user, login_in_browser
):
    payer = make_resident(user=resident_user)
    tax = make_charge(payer, parts=[(date(2030, 6, 28), 12_000)])
    water = make_charge(payer, code="water", parts=[(date(2030, 7, 31), 3_500)])
    login_in_browser(page, resident_user.email, PASSWORD)

    page.goto("/my/statement/")
    table = page.locator("#open-installments")
    assert "個人住民税" in table.inner_text() and "上下水道料金" in table.inner_text()
    assert page.locator("#total-outstanding").inner_text() == "15,500円"

    # The most likely mistake first: a card the provider declines. The checkout stays open and
    # the payer tries another card on the same page.
    page.locator(f"#inst-{tax.installments.get().pk}").check()
    page.locator(f"#inst-{water.installments.get().pk}").check()
    page.get_by_role("button", name="選んだものを支払う").click()
    assert page.locator("#sandbox-amount").inner_text() == "15,500円"
    checkout_url = page.url
    page.get_by_label("カード番号").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="支払う", exact=True).click()
    assert "ご利用になれません" in page.locator("main").inner_text()
    assert page.url == checkout_url
    assert not Installment.objects.filter(charge__in=[tax, water], allocated__gt=0).exists()
    page.get_by_label("カード番号").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="支払う", exact=True).click()
    page.wait_for_url("**/my/statement/")

    assert page.locator("#nothing-open").is_visible()
    paid = page.locator("#paid-installments").inner_text()
    assert "個人住民税" in paid and "上下水道料金" in paid and paid.count("納付済") >= 2
    assert "15,500円のお支払いを受け付けました" in page.locator(".messages").inner_text()
    tax.refresh_from_db()
    water.refresh_from_db()
    assert tax.settled_at is not None and water.settled_at is not None


def test_resident_pays_through_the_providers_hosted_checkout(
    page, live_server, resident_user, login_in_browser, stripe_stub, settings
):
    settings.SITE_URL = live_server.url  # where the provider sends the payer back
    stripe_stub.webhook_url = f"{live_server.url}/api/payments/webhooks/stripe/"
    payer = make_resident(user=resident_user)
    tax = make_charge(payer, parts=[(date(2030, 6, 28), 12_000)])
    login_in_browser(page, resident_user.email, PASSWORD)
    page.goto("/my/statement/")
    assert "クレジットカードでのオンライン決済" in page.locator("main").inner_text()
    page.get_by_role("button", name="すべて支払う").click()
    page.wait_for_url(f"{stripe_stub.url}/pay/**")
    assert page.locator("#amount").inner_text() == "12000 JPY"
    page.locator("#pay").click()
    page.wait_for_url("**/my/statement/")
    assert page.locator("#nothing-open").is_visible()
    assert "12,000円のお支払いを受け付けました" in page.locator(".messages").inner_text()
    tax.refresh_from_db()
    assert tax.settled_at is not None
