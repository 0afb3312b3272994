import io
import time

import pytest
from factories_procedures import make_household, make_procedure, make_resident
from pypdf import PdfReader

from factories import UserFactory
from procedures import services
from procedures.certificates import issuing
from procedures.models import Application, Certificate

ANSWERS = {"purpose": "勤務先に提出", "include": ["relationship", "domicile"]}


def approved(resident, procedure, clerk, answers=ANSWERS, *, on_commit=None):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.submit_application(application=application, actor=resident.user, answers=answers)
    services.decide(application=application, target="approved", clerk=clerk, comment="")
    application.refresh_from_db()
    return application


def pdf_text(certificate) -> str:
    from procedures.certificates import storage

    reader = PdfReader(io.BytesIO(storage.read(certificate)))
    return "".join(page.extract_text() for page in reader.pages)


def test_pdf_contains_the_name_the_code_and_only_the_chosen_items(
    resident, spouse, residence_procedure, clerk
):
    application = approved(
        resident,
        residence_procedure,
        clerk,
        ANSWERS | {"members": [str(resident.pk), str(spouse.pk)]},
    )
    certificate = issuing.issue_certificate(application_id=application.pk)
    text = pdf_text(certificate)
    assert "山田" in text and "太郎" in text and "花子" in text
    assert certificate.verification_code in text
    assert certificate.issue_number in text
    assert "東京都千代田区千代田1番" in text  # 本籍 was asked for
    assert "住民票コード" not in text  # and the resident code was not
    application.refresh_from_db()
    assert application.state == "completed"
    assert certificate.summary["names"] == ["山田 太郎", "山田 花子"]


def test_issuing_twice_yields_one_certificate(resident, residence_procedure, clerk):
    application = approved(resident, residence_procedure, clerk)
    first = issuing.issue_certificate(application_id=application.pk)
    second = issuing.issue_certificate(application_id=application.pk)
    assert first.pk == second.pk
    assert Certificate.objects.filter(application=application).count() == 1


def test_seal_certificate_needs_a_registration(resident, clerk):
    procedure = make_procedure(
        slug="inkan", name_ja="印鑑登録証明書の交付請求", certificate_kind="seal"
    )
    application = approved(resident, procedure, clerk)
    with pytest.raises(Exception, match="印鑑登録がありません"):
        issuing.issue_certificate(application_id=application.pk)
    services.register_seal(resident=resident, registered_on="2021-04-01", number="S-0001")
    certificate = issuing.issue_certificate(application_id=application.pk)
    text = pdf_text(certificate)
    assert "S-0001" in text and "山田" in text


def test_verify_page_confirms_a_genuine_code_and_rejects_a_wrong_one(
    client, resident, residence_procedure, clerk
):
    application = approved(resident, residence_procedure, clerk)
    certificate = issuing.issue_certificate(application_id=application.pk)
    good = client.get(f"/verify/{certificate.verification_code.lower().replace('-', '')}/")
    page = good.content.decode()
    assert good.status_code == 200 and "本市が発行したもの" in page and "山田 太郎" in page
    assert resident.household.address.label not in page  # no more than needed
    wrong = client.get("/verify/ABCD-EFGH-JKMN-PQRS/")
    assert wrong.status_code == 404
    assert "見つかりません" in wrong.content.decode()


def test_only_the_owner_downloads_the_certificate(
    client, resident, other_resident, residence_procedure, clerk
):
    application = approved(resident, residence_procedure, clerk)
    issuing.issue_certificate(application_id=application.pk)
    client.force_login(resident.user)
    response = client.get(f"/my/applications/{application.pk}/certificate.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    client.force_login(other_resident.user)
    assert client.get(f"/my/applications/{application.pk}/certificate.pdf").status_code == 404


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_certificate_task_run_twice_by_the_worker_yields_one_pdf(celery_worker_process, clerk):
    from procedures.tasks import issue_certificate

    user = UserFactory(role="resident")
    resident = make_resident(
        household=make_household(), user=user, given_name="次郎", given_name_kana="ジロウ"
    )
    procedure = make_procedure(slug="juminhyo-worker", certificate_kind="residence")
    application = approved(resident, procedure, clerk)  # approval itself queues the task once
    results = [issue_certificate.delay(application.pk) for _ in range(2)]
    ids = {r.get(timeout=90) for r in results}
    deadline = time.monotonic() + 60
    while (
        not Certificate.objects.filter(application=application).exists()
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert Certificate.objects.filter(application=application).count() == 1
    certificate = Certificate.objects.get(application=application)
    assert ids == {certificate.pk}
    assert "次郎" in pdf_text(certificate)
    assert Application.objects.get(pk=application.pk).state == "completed"
