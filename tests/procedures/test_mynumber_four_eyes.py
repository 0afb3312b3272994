"""A clerk alone can no longer obtain any resident's full My Number.

The attack: counter-file a 住民票の写し with include=mynumber for a resident who is not there,
confirm it on the counter screen, record the fee as cash, approve, download the certificate from
/staff/cases/<pk>/certificate.pdf. Now a counter request that prints My Number is approved only
by a second staff member holding reveal_mynumber; every certificate download checks permission
and writes an audit row with its purpose and address; staff without reveal_mynumber never get
a PDF that shows the number.
"""

from __future__ import annotations

import pytest
from factories_procedures import approved_application, make_procedure
from factories_residents import move_in
from pypdf import PdfReader

from cityhall.models import AuditEvent
from factories import UserFactory
from procedures.certificates import issuing
from procedures.models import Application

NUMBER = "526018159084"
ADDRESS = "10.1.2.3"


@pytest.fixture
def absent_resident(db):
    return move_in(family_name="本田", family_name_kana="ホンダ", mynumber=NUMBER)


@pytest.fixture
def paid_procedure(db):
    return make_procedure(slug="juminhyo", certificate_kind="residence", fee_yen=300)


@pytest.fixture
def second_clerk(db):
    from allauth.mfa.totp.internal.auth import TOTP

    from factories import TOTP_SECRET

    user = UserFactory(role="clerk")
    TOTP.activate(user, TOTP_SECRET)
    return user


def _text(pdf: bytes) -> str:
    import io

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def counter_file_and_pay(client, clerk, resident, on_commit) -> Application:
    """Steps 1-3 of the attack, through the clerk's pages."""
    client.force_login(clerk)
    started = client.post(
        f"/staff/counter-filing/certificate/{resident.pk}/",
        {"resident": resident.pk, "procedure": "juminhyo"},
    )
    application = Application.objects.get(applicant=resident)
    assert started["Location"] == f"/staff/counter-filing/{application.pk}/"
    edited = client.post(
        started["Location"],
        {
            "name": resident.full_name,
            "address": resident.household.address.label,
            "members": [str(resident.pk)],
            "include": ["mynumber"],
            "purpose": "年金の手続",
        },
    )
    assert edited["Location"].endswith("/confirm/")
    client.post(edited["Location"])
    application.refresh_from_db()
    assert application.state == "awaiting_payment"
    with on_commit(execute=True):
        paid = client.post(
            f"/staff/payments/residents/{resident.pk}/",
            {"counter-amount": "300", "counter-idempotency_key": f"four-eyes-{application.pk}"},
            follow=True,
        )
    assert paid.status_code == 200
    application.refresh_from_db()
    assert application.state == "in_review"
    return application


def test_the_filing_clerk_cannot_approve_and_download_the_number(
    client, clerk, absent_resident, paid_procedure, django_capture_on_commit_callbacks
):
    application = counter_file_and_pay(
        client, clerk, absent_resident, django_capture_on_commit_callbacks
    )
    approve = client.post(
        f"/staff/cases/{application.pk}/", {"action": "approved", "comment": ""}, follow=True
    )
    assert "個人番号を扱う権限のある職員が承認します" in approve.content.decode()
    application.refresh_from_db()
    assert application.state == "in_review"
    # Nothing was issued, so there is nothing to download either.
    assert (
        client.get(f"/staff/cases/{application.pk}/certificate.pdf?purpose=counter").status_code
        == 404
    )
    # and the API door refuses the same approval
    api = client.post(
        f"/api/applications/{application.pk}/transitions/",
        {"to": "approved"},
        content_type="application/json",
    )
    assert api.status_code == 400
    application.refresh_from_db()
    assert application.state == "in_review"


def test_another_clerk_without_reveal_mynumber_cannot_approve_either(
    client, clerk, second_clerk, absent_resident, paid_procedure, django_capture_on_commit_callbacks
):
    application = counter_file_and_pay(
        client, clerk, absent_resident, django_capture_on_commit_callbacks
    )
    client.force_login(second_clerk)
    client.post(f"/staff/cases/{application.pk}/", {"action": "approved", "comment": ""})
    application.refresh_from_db()
    assert application.state == "in_review"


def test_a_supervisor_cannot_approve_a_request_they_filed(
    client, supervisor, absent_resident, paid_procedure, django_capture_on_commit_callbacks
):
    application = counter_file_and_pay(
        client, supervisor, absent_resident, django_capture_on_commit_callbacks
    )
    page = client.post(
        f"/staff/cases/{application.pk}/", {"action": "approved", "comment": ""}, follow=True
    )
    assert "受け付けた職員とは別の職員が承認します" in page.content.decode()
    application.refresh_from_db()
    assert application.state == "in_review"


def test_with_a_second_approver_only_reveal_mynumber_staff_download_the_number(
    client, clerk, supervisor, absent_resident, paid_procedure, django_capture_on_commit_callbacks
):
    application = counter_file_and_pay(
        client, clerk, absent_resident, django_capture_on_commit_callbacks
    )
    client.force_login(supervisor)
    client.post(f"/staff/cases/{application.pk}/", {"action": "approved", "comment": ""})
    application.refresh_from_db()
    assert application.state == "approved"
    certificate = issuing.issue_certificate(application_id=application.pk)
    assert certificate.shows_mynumber

    # The filing clerk: refused, no PDF, no number, and the case page says so.
    client.force_login(clerk)
    before = AuditEvent.objects.filter(action="procedures.certificate_downloaded").count()
    refused = client.get(f"/staff/cases/{application.pk}/certificate.pdf?purpose=counter")
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/html")
    assert NUMBER.encode() not in refused.content
    assert "個人番号を扱う権限のある職員だけです" in refused.content.decode()
    case = client.get(f"/staff/cases/{application.pk}/").content.decode()
    assert 'id="certificate-mynumber-refused"' in case
    assert AuditEvent.objects.filter(action="procedures.certificate_downloaded").count() == before

    # The supervisor: a purpose first, then the PDF, and the read is audited.
    client.force_login(supervisor)
    ask = client.get(f"/staff/cases/{application.pk}/certificate.pdf", REMOTE_ADDR=ADDRESS)
    assert ask.status_code == 200 and ask["Content-Type"].startswith("text/html")
    assert "利用目的" in ask.content.decode()
    wrong = client.get(
        f"/staff/cases/{application.pk}/certificate.pdf?purpose=curious", REMOTE_ADDR=ADDRESS
    )
    assert wrong.status_code == 400 and "error-summary" in wrong.content.decode()
    got = client.get(
        f"/staff/cases/{application.pk}/certificate.pdf?purpose=counter", REMOTE_ADDR=ADDRESS
    )
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert NUMBER in _text(got.content)
    row = AuditEvent.objects.get(action="procedures.certificate_downloaded")
    assert (row.actor, row.purpose, row.ip_address) == (supervisor, "窓口対応", ADDRESS)
    assert row.details["shows_mynumber"] is True


def test_the_residents_own_online_request_and_download(
    client, clerk, supervisor, resident_user, paid_procedure
):
    head = move_in(family_name="本田", family_name_kana="ホンダ", mynumber=NUMBER)
    head.user = resident_user
    head.save(update_fields=["user"])
    application = approved_application(
        head,
        make_procedure(certificate_kind="residence"),
        clerk,
        {"purpose": "年金", "members": [str(head.pk)], "include": ["mynumber"]},
    )
    assert application.state == "approved"
    certificate = issuing.issue_certificate(application_id=application.pk)
    assert certificate.shows_mynumber

    client.force_login(resident_user)
    own = client.get(f"/my/applications/{application.pk}/certificate.pdf", REMOTE_ADDR=ADDRESS)
    assert own.status_code == 200 and NUMBER in _text(own.content)
    row = AuditEvent.objects.get(action="procedures.certificate_downloaded")
    assert (row.actor, row.purpose, row.ip_address) == (
        resident_user,
        "本人による受け取り",
        ADDRESS,
    )

    # The clerk who approved it never receives the number.
    client.force_login(clerk)
    assert (
        client.get(f"/staff/cases/{application.pk}/certificate.pdf?purpose=review").status_code
        == 403
    )
