"""The procedures panel on /my/: the resident's own open applications with what to do next."""

from factories_procedures import approved_application

from procedures import services
from procedures.certificates import issuing


def _submitted(resident, procedure, answers=None):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application, actor=resident.user, answers=answers or {"purpose": "勤務先"}
    )
    return application


def test_a_linked_resident_sees_their_applications_and_the_next_step(
    client, resident, other_resident, residence_procedure, clerk
):
    draft = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    corrected = _submitted(resident, residence_procedure)
    services.decide(
        application=corrected,
        target="correction_requested",
        clerk=clerk,
        comment="使いみちを具体的に書いてください",
    )
    in_review = _submitted(resident, residence_procedure)
    issued = approved_application(resident, residence_procedure, clerk, {"purpose": "年金"})
    certificate = issuing.issue_certificate(application_id=issued.pk)
    theirs = _submitted(other_resident, residence_procedure)

    client.force_login(resident.user)
    response = client.get("/my/")
    assert response.status_code == 200
    body = response.content.decode()
    panel = body.split('id="my-open-applications"')[1].split("</ul>")[0]
    assert draft.reference in panel and in_review.reference in panel
    assert f"/my/applications/{draft.pk}/edit/" in panel and "入力を続けて申請する" in panel
    assert f"/my/applications/{corrected.pk}/edit/" in panel
    assert "補正を求められています" in panel
    assert "市役所で審査しています" in panel
    assert issued.reference not in panel  # completed: no longer open
    assert f"/my/applications/{issued.pk}/certificate.pdf" in body
    assert certificate.issue_number in body
    assert theirs.reference not in body and "佐藤" not in body


def test_the_panel_speaks_english_too(client, resident, residence_procedure):
    _submitted(resident, residence_procedure)
    client.force_login(resident.user)
    body = client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Under review at the city office" in body
    assert "Open applications" in body
