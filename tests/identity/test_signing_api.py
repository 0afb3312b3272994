"""The API a program uses to start signing (a phone app opens the returned address)."""

import hashlib
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from factories_identity import jpki_procedure, register_resident
from factories_procedures import make_procedure

from factories import UserFactory
from identity.models import SigningRequest
from procedures import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hanako(db):
    return register_resident(
        name="山田 花子",
        address="本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
        user=UserFactory(role="resident"),
    )


def _draft(procedure, resident):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.save_draft(
        application=application, answers={"purpose": "勤務先に提出"}, actor=resident.user
    )
    return application


def test_the_api_starts_signing_at_the_platform_with_pkce(client, hanako, jpki_platform):
    application = _draft(jpki_procedure(), hanako)
    client.force_login(hanako.user)
    response = client.post(f"/api/applications/{application.pk}/signing/")
    assert response.status_code == 200, response.content
    url = urlsplit(response.json()["authorization_url"])
    assert f"{url.scheme}://{url.netloc}" == jpki_platform.issuer
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["scope"] == "openid sign"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["prompt"] == "login"
    pending = SigningRequest.objects.get(user=hanako.user, state="pending")
    assert query["sign_transaction_id"] == pending.transaction_id
    assert query["state"] == pending.state_token
    assert pending.digest == hashlib.sha256(pending.canonical.encode()).hexdigest()
    assert '"procedure":"juminhyo"' in pending.canonical


def test_the_api_refuses_to_sign_what_needs_no_signature(client, hanako):
    application = _draft(make_procedure(slug="inu", name_ja="犬の登録"), hanako)
    client.force_login(hanako.user)
    response = client.post(f"/api/applications/{application.pk}/signing/")
    assert response.status_code == 409


def test_staff_cannot_sign_for_a_resident(client, hanako, clerk):
    application = _draft(jpki_procedure(), hanako)
    client.force_login(clerk)
    response = client.post(f"/api/applications/{application.pk}/signing/")
    assert response.status_code == 403
