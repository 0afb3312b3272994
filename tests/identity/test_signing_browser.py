"""Filing a 住民票の写し with a マイナンバーカード signature, end to end in Chromium against the local
platform: the signature verifies and authorises the certificate; expired, revoked and tampered
signatures, and another person's card, are refused with nothing stored."""

from datetime import date

import pytest
from factories_identity import jpki_procedure, read_card, register_resident

from cityhall.models import AuditEvent
from factories import PASSWORD, UserFactory
from identity.models import Signature, SigningRequest
from procedures import services
from procedures.certificates.issuing import issue_certificate
from procedures.models import Application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _hanako_files_until_signing(page, login_in_browser):
    user = UserFactory(role="resident")
    resident = register_resident(
        name="山田 花子",
        address="本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
        user=user,
    )
    jpki_procedure()
    login_in_browser(page, user.email, PASSWORD)
    page.goto("/procedures/juminhyo/")
    assert "マイナンバーカードで申請します" in page.locator("#identity-needed").inner_text()
    page.get_by_role("button", name="オンラインで申請する").click()
    page.fill("#id_purpose", "勤務先に提出")
    page.get_by_role("button", name="入力内容を確認する").click()
    assert page.url.endswith("/confirm/"), page.url
    page.get_by_role("button", name="この内容で申請する").click()
    assert page.url.endswith("/sign/"), page.url
    assert "勤務先に提出" in page.locator("#signed-content").inner_text()
    page.get_by_role("button", name="マイナンバーカードで署名して申請する").click()
    page.wait_for_selector("#digest")
    return user, resident


def test_resident_signs_a_certificate_request_and_the_certificate_records_the_signature(
    page, jpki_platform, login_in_browser, clerk, client
):
    user, resident = _hanako_files_until_signing(page, login_in_browser)
    pending = SigningRequest.objects.get(user=user, state="pending")
    # The platform shows the digest of exactly the canonical bytes Machiba stored.
    assert page.locator("#digest").inner_text() == pending.digest
    read_card(page, "hanako")

    assert page.locator("#application-state").inner_text() == "審査中"
    assert "マイナンバーカードで署名済み" in page.locator("#application-signature").inner_text()
    application = Application.objects.get(applicant=resident)
    signature = Signature.objects.get()
    assert application.signature_id == signature.pk
    assert signature.signer_name == "山田 花子"
    assert signature.signer_birth_date == date(1990, 1, 2)
    assert signature.revocation_status == "good" and signature.crl_number
    assert '"purpose":"勤務先に提出"' in signature.canonical
    verified = AuditEvent.objects.get(action="identity.signature_verified")
    assert verified.details["origin"] == application.origin

    client.force_login(clerk)
    case = client.get(f"/staff/cases/{application.pk}/").content.decode()
    assert "署名検証済" in case
    assert "山田 花子" in case and "1990年1月2日" in case
    assert "東京都まちば市本町3丁目5番12号" in case

    services.decide(application=application, target="approved", clerk=clerk)
    certificate = issue_certificate(application_id=application.pk)
    assert certificate.signature_id == signature.pk


@pytest.mark.parametrize(
    ("card", "reason", "message"),
    [
        ("expired", "expired", "有効期限が切れています"),
        ("revoked", "revoked", "失効しています"),
        ("tampered", "tampered", "署名が申請内容と一致しませんでした"),
    ],
)
def test_a_signature_that_does_not_verify_refuses_the_submission_and_stores_nothing(
    page, jpki_platform, login_in_browser, card, reason, message
):
    user, resident = _hanako_files_until_signing(page, login_in_browser)
    read_card(page, card)
    assert message in page.locator("#signature-refused").inner_text()
    application = Application.objects.get(applicant=resident)
    assert application.state == "draft"
    assert application.signature_id is None
    assert not Signature.objects.exists()
    assert SigningRequest.objects.get(user=user).refusal_code == reason
    refused = AuditEvent.objects.get(action="identity.signature_refused")
    assert refused.details["reason"] == reason

    # The refusal page leads to the other ways straight away, and back to signing.
    assert page.get_by_role("link", name="署名の画面に戻る").is_visible()
    page.get_by_role(
        "link", name="マイナンバーカードで署名できない場合（窓口・コンビニ交付など）"
    ).click()
    assert page.locator("#way-counter").is_visible()
    assert page.locator("#way-konbini").is_visible()


def test_another_persons_card_cannot_sign_the_application(page, jpki_platform, login_in_browser):
    _user, resident = _hanako_files_until_signing(page, login_in_browser)
    read_card(page, "takahashi")
    assert "申請者の住民記録と一致しません" in page.locator("#signature-refused").inner_text()
    assert Application.objects.get(applicant=resident).state == "draft"
    assert not Signature.objects.exists()
    assert AuditEvent.objects.get(action="identity.signature_refused").details["reason"] == (
        "signer_mismatch"
    )
