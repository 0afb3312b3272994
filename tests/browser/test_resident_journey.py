"""The resident journey on a 390 px phone (and a 1366 px desktop), in
Japanese and in English.

search (by reading or in English) → the form, filed with one wrong field → corrected, nothing else
lost → the confirmation page (確認画面) → pay the fee with the sandbox card → a clerk approves →
the certificate link appears by itself (the page polls) → the PDF says 個人 and the full address.

Every page passes check_page: no wider than the phone, no axe violation, a screenshot under
var/screenshots/journey-<language>-<width>-NN-<step>.png; in English, no Japanese but names and addresses.
"""

from __future__ import annotations

import io
import time

import pytest
from browser.pages import check_page
from factories_procedures import RESIDENCE_FORM, make_household, make_procedure, make_resident
from pypdf import PdfReader

from factories import PASSWORD, UserFactory
from payments.models import Revenue
from payments.revenues import revenue_defaults
from procedures import services
from procedures.models import Application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.celery]

JOURNEY_FORM = {
    "fields": [
        *RESIDENCE_FORM["fields"],
        {
            "id": "email",
            "type": "email",
            "label": {"ja": "連絡先メールアドレス", "en": "Contact e-mail"},
        },
    ]
}
WORDS = {
    "ja": {
        "search": "じゅうみんひょう",
        "search_button": "検索",
        "apply": "オンラインで申請する",
        "purpose": "勤務先に提出",
        "check": "入力内容を確認する",
        "submit": "この内容で申請する",
        "pay": "手数料を支払う",
        "pay_by_card": "カードで支払う",
        "pay_now": "支払う",
        "problem": "入力内容に問題があります",
        "email_error": "name@example.jp のような形式",
    },
    "en": {
        "search": "residence",
        "search_button": "Search",
        "apply": "Apply online",
        "purpose": "For my employer",
        "check": "Check your answers",
        "submit": "Apply with these answers",
        "pay": "Pay the fee",
        "pay_by_card": "Pay by card",
        "pay_now": "Pay",
        "problem": "There is a problem",
        "email_error": "as an e-mail address, like name@example.jp",
    },
}


class Journey:
    def __init__(self, page, language: str, allowed: list[str] | None):
        self.page, self.language, self.allowed, self.step = page, language, allowed, 0

    def check(self, name: str) -> None:
        self.step += 1
        self.page.wait_for_load_state()
        check_page(
            self.page,
            f"journey-{self.language}-{self.step:02d}-{name}",
            allowed_japanese=self.allowed,
        )


@pytest.mark.parametrize(
    ("language", "width"), [("ja", 390), ("en", 390), ("ja", 1366), ("en", 1366)]
)
def test_resident_journey(browser, live_server, clerk, celery_worker_process, language, width):
    words = WORDS[language]
    user = UserFactory(role="resident")
    household = make_household()
    resident = make_resident(household=household, user=user)
    spouse = make_resident(
        household=household, given_name="花子", given_name_kana="ハナコ", relationship="妻"
    )
    procedure = make_procedure(
        slug="juminhyo",
        name_ja="住民票の写しの交付請求",
        certificate_kind="residence",
        fee_yen=300,
        definition=JOURNEY_FORM,
    )
    procedure.name_kana = "ジュウミンヒョウノウツシノコウフセイキュウ"
    services.save_procedure(procedure=procedure)
    dog = make_procedure(slug="inu", name_ja="犬の登録")
    dog.name_en = "Dog registration"
    services.save_procedure(procedure=dog)
    Revenue.objects.get_or_create(code="fee", defaults=revenue_defaults("fee"))
    allowed = None
    if language == "en":
        allowed = [
            resident.full_name,
            resident.full_name_kana,
            spouse.full_name,
            household.address.label,
        ]

    context = browser.new_context(
        locale="ja-JP",
        base_url=live_server.url,
        viewport={"width": width, "height": 844 if width < 600 else 900},
        is_mobile=width < 600,
        has_touch=width < 600,
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    journey = Journey(page, f"{language}-{width}", allowed)
    try:
        page.goto("/accounts/login/")
        if language == "en":
            page.get_by_role("button", name="English").click()
            page.wait_for_load_state()
        journey.check("login")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").first.click()
        page.wait_for_load_state()

        # Search: the reading in Japanese, a word of the English name in English.
        page.goto("/procedures/")
        journey.check("catalogue")
        page.fill("#id_q", words["search"])
        page.get_by_role("button", name=words["search_button"], exact=True).click()
        journey.check("search-results")
        results = page.locator(".procedure-list")
        assert results.locator("a").count() == 1
        results.locator("a").first.click()
        journey.check("procedure")
        page.get_by_role("button", name=words["apply"]).click()
        page.wait_for_url("**/edit/")
        journey.check("form")

        # One wrong field: everything else typed stays, the error sits beside the field.
        page.fill("#id_purpose", words["purpose"])
        page.check("#id_include_0")
        page.fill("#id_email", "taro@@example")
        page.get_by_role("button", name=words["check"]).click()
        page.wait_for_load_state()
        assert words["problem"] in page.locator(".error-summary").inner_text()
        assert words["email_error"] in page.locator("#error-email").inner_text()
        assert page.input_value("#id_purpose") == words["purpose"]
        assert page.is_checked("#id_include_0")
        assert page.evaluate("() => document.activeElement.closest('.error-summary') !== null")
        journey.check("form-error")
        page.locator(".error-summary a").first.click()
        assert page.evaluate("() => document.activeElement.id") == "id_email"
        page.fill("#id_email", "taro@example.jp")
        page.get_by_role("button", name=words["check"]).click()
        page.wait_for_url("**/confirm/")
        confirm = page.locator("#confirm-answers").inner_text()
        assert "taro@example.jp" in confirm and words["purpose"] in confirm
        journey.check("confirm")
        application = Application.objects.get(applicant=resident)
        assert application.state == "draft"  # nothing is filed before the button
        page.get_by_role("button", name=words["submit"]).click()
        page.wait_for_load_state()
        journey.check("submitted")

        # The fee, with the sandbox card.
        page.locator("#pay-fee").click()
        page.wait_for_load_state()
        journey.check("pay")
        page.get_by_role("button", name=words["pay_by_card"]).click()
        page.wait_for_load_state()
        journey.check("card")
        page.locator("input[name=card_number]").fill("4242 4242 4242 4242")
        page.get_by_role("button", name=words["pay_now"], exact=True).click()
        page.wait_for_load_state()
        deadline = time.monotonic() + 30
        while Application.objects.get(pk=application.pk).state != "in_review":
            assert time.monotonic() < deadline, "the fee payment did not reach the application"
            time.sleep(0.3)
        page.goto(f"/my/applications/{application.pk}/")
        journey.check("paid")

        # A clerk approves; the worker renders the certificate and the open page shows the
        # link and the new state by itself (it polls), without a reload.
        services.decide(
            application=Application.objects.get(pk=application.pk),
            target="approved",
            clerk=clerk,
        )
        download = page.locator("#download-certificate")
        download.wait_for(timeout=90000)
        assert page.locator("#application-state").inner_text() in ("完了", "Done")
        assert page.locator("#withdraw").count() == 0  # a completed application stays
        journey.check("certificate")
        with page.expect_download() as download_info:
            download.click()
        data = open(download_info.value.path(), "rb").read()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert "個人の住民票" in text  # only the applicant was chosen, of two
        assert f"東京都まちば市{household.address.label}" in text.replace(" ", "")
    finally:
        context.close()
