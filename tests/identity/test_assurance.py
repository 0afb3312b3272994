"""Identity levels per procedure: what a resident is told before starting, what the form designer
sets, and that a procedure needing a JPKI signature is never submitted online without one."""

import importlib
from datetime import UTC, date, datetime

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from factories_identity import jpki_procedure, register_resident
from factories_procedures import make_procedure
from jpki_testca import SigningCA

from cityhall.models import AuditEvent
from factories import UserFactory
from identity import jpki
from identity.models import Signature
from procedures import services
from procedures.models import Application, IdentityLevel, Procedure

pytestmark = pytest.mark.django_db

ANSWERS = {"purpose": "勤務先に提出"}


@pytest.fixture(autouse=True)
def city(settings):
    settings.CITY_NAME = "まちば市"


@pytest.fixture
def hanako():
    user = UserFactory(role="resident")
    return register_resident(
        name="山田 花子",
        address="本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
        user=user,
    )


def signed(application, *, card_facts: dict | None = None, change_after: dict | None = None):
    """A signature as identity stores it once verified, by a card with `card_facts`."""
    facts = card_facts or {
        "name": "山田 花子",
        "address": "東京都まちば市本町3丁目5番12号",
        "birth_date": date(1990, 1, 2),
        "sex": "female",
    }
    payload = services.prepare_for_signing(application=application, actor=application.user)
    ca = SigningCA()
    card = ca.issue(**facts)
    data = jpki.canonical_bytes(payload)
    verified = jpki.verify(
        data=data,
        signature=card.sign(data),
        certificate=card.certificate_pem.encode(),
        trust_anchors=[ca.certificate],
        crl=ca.crl(),
        at=datetime.now(UTC),
    )
    if change_after:
        Application.objects.filter(pk=application.pk).update(
            answers=application.answers | change_after
        )
    return Signature.objects.create(
        origin=application.origin,
        user=application.user,
        canonical=data.decode(),
        digest=verified.digest.hex(),
        signature=card.sign(data),
        certificate_pem=card.certificate_pem,
        certificate_serial=verified.serial_hex,
        certificate_issuer=verified.issuer,
        certificate_not_after=verified.certificate.not_valid_after_utc,
        signer_name=verified.facts.name,
        signer_address=verified.facts.address,
        signer_birth_date=verified.facts.birth_date,
        signer_sex=verified.facts.sex,
        revocation_status="good",
        revocation_source="test",
        signed_at=datetime.now(UTC),
        verified_at=datetime.now(UTC),
    )


def started(procedure, resident):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.save_draft(application=application, answers=ANSWERS, actor=resident.user)
    return application


def test_certificate_requests_need_a_jpki_signature_after_the_data_migration():
    make_procedure(slug="m-juminhyo", certificate_kind="residence")
    make_procedure(slug="m-kazei", certificate_kind="tax")
    make_procedure(slug="m-inu", name_ja="犬の登録")
    migration = importlib.import_module("procedures.migrations.0011_jpki_for_certificate_requests")
    migration.require_jpki(apps, None)
    levels = dict(Procedure.objects.values_list("slug", "identity_level"))
    assert levels == {"m-juminhyo": "jpki", "m-kazei": "jpki", "m-inu": "linked"}


def test_the_seeded_catalogue_asks_for_the_card_for_the_three_certificates():
    from procedures.seed import PROCEDURES

    by_kind = {spec.get("certificate_kind"): spec.get("identity_level") for spec in PROCEDURES}
    assert by_kind["residence"] == by_kind["seal"] == by_kind["tax"] == "jpki"


@pytest.mark.parametrize(
    ("level", "heading"),
    [
        ("jpki", "マイナンバーカードで申請します"),
        ("linked", "住民記録と連携したアカウントで申請します"),
        ("account", "アカウントで申請します"),
    ],
)
def test_the_procedure_page_says_what_is_needed_before_starting(client, level, heading):
    procedure = make_procedure(slug="lvl", certificate_kind="residence")
    Procedure.objects.filter(pk=procedure.pk).update(identity_level=level)
    body = client.get("/procedures/lvl/").content.decode()
    assert heading in body
    assert ("/procedures/lvl/other-ways/" in body) == (level == "jpki")


def test_the_procedure_page_in_english(client):
    jpki_procedure()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/procedures/juminhyo/").content.decode()
    assert "Apply with your My Number Card" in body
    assert "マイナンバーカードで申請します" not in body


def test_other_ways_page_names_the_counter_and_convenience_store_issuance(client):
    jpki_procedure()
    response = client.get("/procedures/juminhyo/other-ways/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="way-counter"' in body and 'id="way-konbini"' in body


def test_a_jpki_procedure_is_not_submitted_without_a_signature(hanako):
    application = started(jpki_procedure(), hanako)
    with pytest.raises(ValidationError) as refused:
        services.submit_application(application=application, actor=hanako.user)
    assert refused.value.code == "signature_required"
    application.refresh_from_db()
    assert application.state == "draft"


def test_the_submit_button_leads_to_the_signing_step(client, hanako):
    application = started(jpki_procedure(), hanako)
    client.force_login(hanako.user)
    posted = application.answers | {"purpose": "勤務先に提出", "submit": "1"}
    response = client.post(f"/my/applications/{application.pk}/edit/", posted)
    assert response.status_code == 302
    # The form leads to the confirmation page (確認画面); its button leads to signing.
    assert response.url == f"/my/applications/{application.pk}/confirm/"
    response = client.post(response.url)
    assert response.status_code == 302
    assert response.url == f"/my/applications/{application.pk}/sign/"
    application.refresh_from_db()
    assert application.state == "draft"
    page = client.get(response.url).content.decode()
    assert "マイナンバーカードで署名して申請する" in page
    assert "勤務先に提出" in page


def test_the_submit_button_with_a_mistake_keeps_the_form_and_its_errors(client, hanako):
    application = started(jpki_procedure(), hanako)
    client.force_login(hanako.user)
    response = client.post(f"/my/applications/{application.pk}/edit/", {"submit": "1"})
    assert response.status_code == 400
    assert "「使いみち」を入力してください" in response.content.decode()


def test_the_api_refuses_to_submit_a_jpki_procedure_without_a_signature(client, hanako):
    application = started(jpki_procedure(), hanako)
    client.force_login(hanako.user)
    response = client.post(
        f"/api/applications/{application.pk}/transitions/",
        {"to": "submitted"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "電子署名が必要です" in response.content.decode()


def test_without_a_configured_platform_the_signing_step_says_so(client, hanako, settings):
    settings.JPKI = {}
    application = started(jpki_procedure(), hanako)
    client.force_login(hanako.user)
    services.prepare_for_signing(application=application, actor=hanako.user)
    response = client.post(f"/my/applications/{application.pk}/sign/")
    assert response.status_code == 503
    assert "オンライン署名を利用できません" in response.content.decode()


def test_a_verified_signature_submits_the_application(hanako):
    application = started(jpki_procedure(), hanako)
    signature = signed(application)
    services.submit_application(application=application, actor=hanako.user, signature=signature)
    application.refresh_from_db()
    assert application.state == "in_review"
    assert application.signature_id == signature.pk


def test_answers_changed_after_signing_are_refused(hanako):
    application = started(jpki_procedure(), hanako)
    signature = signed(application, change_after={"purpose": "別の用途"})
    with pytest.raises(ValidationError) as refused:
        services.submit_application(application=application, actor=hanako.user, signature=signature)
    assert refused.value.code == "signed_content_changed"


def test_a_signature_by_someone_else_is_refused(hanako):
    application = started(jpki_procedure(), hanako)
    signature = signed(
        application,
        card_facts={
            "name": "山田 太郎",
            "address": "東京都まちば市本町3丁目5番12号",
            "birth_date": date(1988, 3, 3),
            "sex": "male",
        },
    )
    with pytest.raises(ValidationError) as refused:
        services.submit_application(application=application, actor=hanako.user, signature=signature)
    assert refused.value.code == "signer_mismatch"


def test_at_the_counter_the_clerk_checks_the_card_instead(clerk, hanako):
    procedure = jpki_procedure()
    application = services.start_application(
        procedure=procedure, resident=hanako, user=None, filed_by=clerk
    )
    services.confirm_at_counter(application=application, clerk=clerk, answers=ANSWERS)
    application.refresh_from_db()
    assert application.state == "in_review"


def test_the_case_page_shows_the_verified_signature_with_the_signers_facts(clerk, client, hanako):
    application = started(jpki_procedure(), hanako)
    signature = signed(application)
    services.submit_application(application=application, actor=hanako.user, signature=signature)
    client.force_login(clerk)
    body = client.get(f"/staff/cases/{application.pk}/").content.decode()
    assert "署名検証済" in body
    for fact in ("山田 花子", "東京都まちば市本町3丁目5番12号", "1990年1月2日", "女"):
        assert fact in body


def test_the_form_designer_sets_the_identity_level(admin_user, client):
    procedure = make_procedure(slug="new-proc", name_ja="新しい手続")
    client.force_login(admin_user)
    page = client.get("/staff/admin/procedures/new-proc/").content.decode()
    assert 'name="identity_level"' in page
    response = client.post("/staff/admin/procedures/new-proc/identity/", {"identity_level": "jpki"})
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.identity_level == IdentityLevel.JPKI
    event = AuditEvent.objects.get(action="procedures.identity_level_set")
    assert event.details == {"from": "linked", "to": "jpki"}


def test_an_unknown_identity_level_is_refused_next_to_the_field(admin_user, client):
    make_procedure(slug="new-proc", name_ja="新しい手続")
    client.force_login(admin_user)
    response = client.post("/staff/admin/procedures/new-proc/identity/", {"identity_level": "x"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="identity-level-error"' in body and "error-summary" in body


def test_only_admins_set_the_identity_level(clerk, client):
    make_procedure(slug="new-proc", name_ja="新しい手続")
    client.force_login(clerk)
    response = client.post("/staff/admin/procedures/new-proc/identity/", {"identity_level": "jpki"})
    assert response.status_code == 403
