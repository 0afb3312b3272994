"""A resident finds 住民票の写しの交付請求 by searching, submits it prefilled, a clerk approves
it, the worker renders the certificate and the resident downloads it.

The 300-yen fee is paid at the cashier through payments.services.record_counter_payment (the
payments app's online sandbox pages were not finished when this test was written); its
settlement hook moves the case to review, as an online payment would.
"""

import time

import pytest
from factories_procedures import make_household, make_procedure, make_resident

from factories import PASSWORD, TOTP_SECRET, UserFactory
from payments.models import Revenue
from payments.selectors import charge_for_origin
from payments.services import record_counter_payment
from procedures.models import Application, Certificate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.celery]


def test_resident_requests_a_certificate_of_residence_and_downloads_it(
    browser, live_server, page, clerk, login_in_browser, celery_worker_process
):
    user = UserFactory(role="resident")
    resident = make_resident(
        household=make_household(), user=user, given_name="一花", given_name_kana="イチカ"
    )
    make_procedure(
        slug="juminhyo", name_ja="住民票の写しの交付請求", certificate_kind="residence", fee_yen=300
    )
    Revenue.objects.get_or_create(
        code="fee",
        defaults={
            "slip_code": "98",
            "name_ja": "手数料",
            "name_en": "Fees",
            "kind": "fee",
            "bears_late_charge": False,
        },
    )
    make_procedure(slug="inu", name_ja="犬の登録")

    login_in_browser(page, user.email, PASSWORD)
    page.goto("/procedures/")
    page.fill("input[name=q]", "住民票")
    page.get_by_role("button", name="検索").click()
    page.get_by_role("link", name="住民票の写しの交付請求").click()
    page.get_by_role("button", name="オンラインで申請する").click()
    assert page.input_value("#id_name") == "山田 一花"
    page.get_by_role("button", name="入力内容を確認する").click()
    # The most likely mistake: the purpose is left empty; the message sits next to the field.
    assert "「使いみち」を入力してください" in page.locator("#field-purpose").inner_text()
    page.fill("#id_purpose", "勤務先に提出")
    page.get_by_role("button", name="入力内容を確認する").click()
    page.get_by_role("button", name="この内容で申請する").click()
    assert page.locator("#application-state").inner_text() == "手数料のお支払い待ち"
    application = Application.objects.get(applicant=resident)
    charge = charge_for_origin(application.origin)
    record_counter_payment(
        payer=resident,
        amount=300,
        clerk=clerk,
        installment_ids=list(charge.installments.values_list("pk", flat=True)),
    )
    page.reload()
    assert page.locator("#application-state").inner_text() == "審査中"

    clerk_context = browser.new_context(locale="ja-JP", base_url=live_server.url)
    clerk_page = clerk_context.new_page()
    login_in_browser(clerk_page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    clerk_page.goto("/staff/cases/")
    clerk_page.get_by_role("link", name=application.reference).click()
    clerk_page.get_by_role("button", name="承認").click()
    assert clerk_page.locator("#case-state").inner_text() == "承認"
    clerk_context.close()

    deadline = time.monotonic() + 60
    while (
        not Certificate.objects.filter(application=application).exists()
        and time.monotonic() < deadline
    ):
        time.sleep(0.3)
    certificate = Certificate.objects.get(application=application)

    page.goto(f"/my/applications/{application.pk}/")
    assert page.locator("#application-state").inner_text() == "完了"
    with page.expect_download() as download_info:
        page.locator("#download-certificate").click()
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF")
    assert len(data) > 5000
    page.goto(f"/verify/{certificate.verification_code}/")
    assert "本市が発行したもの" in page.locator("#verify-result").inner_text()
