"""In the browser, on a phone, in Japanese and English: the catalogue by area, an
ordered life-event checklist, the withdraw question that tells what happens to a paid fee, the
sign-up errors under their fields, the home page and the dashboard, the resident's record, and the statement PDF link that
appears by itself. Every page: fits 390 px, axe clean, screenshot under var/screenshots/."""

from __future__ import annotations

import re
from datetime import date

import pytest
from browser.pages import check_page
from factories_payments import make_charge
from factories_procedures import make_household, make_procedure, make_resident

from factories import PASSWORD, UserFactory
from payments.models import Revenue
from payments.revenues import revenue_defaults
from payments.selectors import charge_for_origin
from payments.services import record_counter_payment
from procedures import services
from procedures.models import Application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.celery]


def _catalogue():
    made = {}
    for slug, name_ja, name_en, order, counter_only in (
        ("tennyu", "転入届", "Notification of moving in", 20, True),
        ("tenshutsu", "転出届", "Notification of moving out", 10, False),
    ):
        procedure = make_procedure(slug=slug, name_ja=name_ja, life_events=["moving"])
        procedure.name_en = name_en
        procedure.checklist_order = order
        procedure.counter_only = counter_only
        procedure.counter_place_ja = "市役所1階 総合窓口（開庁日の8時30分〜17時15分）"
        procedure.counter_place_en = "City hall, 1st floor (business days 8:30–17:15)"
        made[slug] = services.save_procedure(procedure=procedure)
    return made


@pytest.mark.parametrize("language", ["ja", "en"])
def test_resident_pages_on_a_phone(browser, live_server, clerk, celery_worker_process, language):
    _catalogue()
    Revenue.objects.get_or_create(code="fee", defaults=revenue_defaults("fee"))
    user = UserFactory(role="resident")
    household = make_household()
    resident = make_resident(household=household, user=user)
    make_charge(resident, parts=[(date(2030, 6, 28), 12_000)])
    juminhyo = make_procedure(slug="juminhyo", certificate_kind="residence", fee_yen=300)
    application = services.start_application(procedure=juminhyo, resident=resident, user=user)
    services.submit_application(
        application=application,
        actor=user,
        answers={"purpose": "For my employer", "members": [str(resident.pk)]},
    )
    charge = charge_for_origin(Application.objects.get(pk=application.pk).origin)
    record_counter_payment(
        payer=resident,
        amount=300,
        clerk=clerk,
        installment_ids=list(charge.installments.values_list("pk", flat=True)),
    )
    allowed = None
    if language == "en":
        allowed = [resident.full_name, resident.full_name_kana, household.address.label]

    context = browser.new_context(
        locale="ja-JP",
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(20000)

    def check(name):
        page.wait_for_load_state()
        check_page(page, f"walk-{language}-{name}", allowed_japanese=allowed)

    try:
        page.goto("/accounts/signup/")
        if language == "en":
            page.get_by_role("button", name="English").click()
            page.wait_for_load_state()
        page.fill("#id_email", "taro@example")  # the browser lets it through
        page.fill("#id_password1", "abc")
        page.fill("#id_password2", "abd")
        page.locator("form:has(#id_email) button[type=submit]").click()
        page.wait_for_load_state()
        below = page.evaluate(
            """() => document.getElementById("id_email").getBoundingClientRect().bottom
                <= document.getElementById("id_email_error").getBoundingClientRect().top"""
        )
        assert below, "the e-mail error is not under the e-mail field"
        check("signup-error")

        # The anonymous home page is served from a cache per language: still the chosen one.
        page.goto("/")
        check("home")

        page.goto("/accounts/login/")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").first.click()
        page.wait_for_load_state()

        # The dashboard's panels are served from caches: the bill and the case are there.
        page.goto("/my/")
        dashboard = page.locator("main").inner_text()
        assert "12,000" in dashboard
        assert ("28 June 2030 (" if language == "en" else "2030年6月28日（") in dashboard
        review = " ".join(
            page.locator("#my-open-applications .card span:not(.meta)").all_inner_texts()
        )
        assert review and not re.search(r"\d{4}-\d{2}-\d{2}", review)  # no ISO dates
        assert page.locator(f"a[href='/my/applications/{application.pk}/']").count() >= 1
        check("dashboard")

        page.goto("/procedures/")
        assert page.locator(".catalogue-group h3").count() >= 1
        check("catalogue-by-area")
        page.goto("/procedures/life/moving/")
        items = page.locator(".checklist li").all_inner_texts()
        first_out = next(i for i, text in enumerate(items) if "転出" in text or "out" in text)
        first_in = next(i for i, text in enumerate(items) if "転入" in text or "in\n" in text)
        assert first_out < first_in
        assert page.locator(".counter-only a[href='/counter/status/']").count() == 1
        check("life-event")

        page.goto(f"/my/applications/{application.pk}/")
        page.locator("#withdraw").click()
        page.wait_for_load_state()
        fee_note = page.locator("#withdraw-fee").inner_text()
        assert "300" in fee_note
        check("withdraw-question")

        page.goto("/my/info/")
        check("my-info")

        page.goto("/my/statement/")
        page.locator("form[action$='/my/statement/pdf/'] button").click()
        page.wait_for_load_state()
        check("statement-pdf-requested")
        # The link appears by itself once the worker has rendered the PDF.
        page.locator("#statement-documents a").wait_for(timeout=90000)
        check("statement-pdf-ready")
    finally:
        context.close()
