"""The 360 view shows the resident's applications (open and past) and certificates from
procedures, and links to counter filing for them."""

import pytest
from factories_procedures import approved_application, make_procedure, make_resident

from procedures import services
from procedures.certificates import issuing


@pytest.fixture
def resident(db, resident_user):
    return make_resident(given_name="花子", given_name_kana="ハナコ", user=resident_user)


@pytest.fixture
def juminhyo(db):
    return make_procedure(slug="juminhyo-360", certificate_kind="residence")


def test_360_view_lists_the_residents_applications_and_certificates(
    clerk_client, clerk, resident, juminhyo
):
    done = approved_application(resident, juminhyo, clerk, {"purpose": "勤務先に提出"})
    certificate = issuing.issue_certificate(application_id=done.pk)
    waiting = services.start_application(
        procedure=juminhyo, resident=resident, user=None, filed_by=clerk
    )
    stranger = make_resident(family_name="佐藤", family_name_kana="サトウ")
    theirs = services.start_application(procedure=juminhyo, resident=stranger, user=None)

    response = clerk_client.get(f"/staff/counter/residents/{resident.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    open_part = body.split('id="open-applications"')[1].split("</ul>")[0]
    past_part = body.split('id="past-applications"')[1].split("</ul>")[0]
    certificates_part = body.split('id="certificates"')[1].split("</ul>")[0]
    # The counter draft is open (and links back to counter filing); the issued one is past.
    assert waiting.reference in open_part and "下書き" in open_part
    assert f"/staff/counter-filing/{waiting.pk}/" in open_part
    assert done.reference in past_part and "完了" in past_part
    assert done.reference not in open_part
    assert f"/staff/cases/{done.pk}/" in past_part
    assert certificate.issue_number in certificates_part and "住民票の写し" in certificates_part
    assert f"/staff/cases/{done.pk}/certificate.pdf" in certificates_part
    assert theirs.reference not in body


def test_360_view_links_counter_filing_and_certificates_for_this_resident(clerk_client, resident):
    body = clerk_client.get(f"/staff/counter/residents/{resident.pk}/").content.decode()
    assert f'href="/staff/counter-filing/?resident={resident.pk}"' in body
    assert f'href="/staff/counter-filing/certificate/{resident.pk}/"' in body
    assert "手続中の申請はありません" in body and "発行した証明書はありません" in body
