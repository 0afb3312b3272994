"""A resident sees two revenues on one statement, pays both with the sandbox card, and the
statement shows them paid; a declined card leaves them open."""

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

    # The most likely mistake first: a card the provider declines.
    page.get_by_role("button", name="すべて支払う").click()
    assert page.locator("#sandbox-amount").inner_text() == "15,500円"
    page.get_by_label("カード番号").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="支払う", exact=True).click()
    assert "ご利用になれません" in page.locator("main").inner_text()
    assert not Installment.objects.filter(charge__in=[tax, water], allocated__gt=0).exists()

    page.goto("/my/statement/")
    page.locator(f"#inst-{tax.installments.get().pk}").check()
    page.locator(f"#inst-{water.installments.get().pk}").check()
    page.get_by_role("button", name="選んだものを支払う").click()
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
