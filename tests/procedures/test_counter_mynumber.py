"""A counter filing that includes a My Number can be submitted. The number is
validated, sealed with the vault's keys, and the answers, pages and API show only its mask."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from factories_procedures import make_procedure
from factories_residents import move_in

from procedures import services
from procedures.models import Application
from residents import vault

NUMBER = "526018159084"
MISTYPED = "526018159085"
MASK = "********9084"
FORM = {
    "fields": [
        {"id": "name", "type": "text", "label": {"ja": "氏名", "en": "Name"}, "required": True},
        {
            "id": "mynumber",
            "type": "mynumber",
            "label": {"ja": "個人番号", "en": "My Number"},
            "staff_only": True,
        },
    ]
}


@pytest.fixture
def walk_in(db):
    return move_in(family_name="森", family_name_kana="モリ")


@pytest.fixture
def tennyu(db):
    return make_procedure(slug="tennyu", name_ja="転入届", definition=FORM, counter_only=True)


def _start(client, clerk, walk_in) -> Application:
    client.force_login(clerk)
    client.post("/staff/counter-filing/", {"resident": walk_in.pk, "procedure": "tennyu"})
    return Application.objects.get(applicant=walk_in)


def test_a_counter_filing_with_a_my_number_is_submitted_and_shows_only_the_mask(
    client, clerk, walk_in, tennyu
):
    application = _start(client, clerk, walk_in)
    edit = client.post(
        f"/staff/counter-filing/{application.pk}/",
        {"name": walk_in.full_name, "mynumber": "５２６０１８１５９０８４"},
    )
    assert edit.status_code == 302 and edit["Location"].endswith("/confirm/")
    application.refresh_from_db()
    assert application.answers["mynumber"] == MASK
    assert NUMBER not in str(application.answers)
    assert services.sealed_mynumbers(application) == {"mynumber": NUMBER}
    assert NUMBER.encode() not in bytes(application.sealed_mynumbers)

    confirm = client.post(f"/staff/counter-filing/{application.pk}/confirm/")
    assert confirm.status_code == 302, confirm.content.decode()[:500]
    application.refresh_from_db()
    assert application.state == "in_review"
    assert application.answers["mynumber"] == MASK
    assert services.sealed_mynumbers(application) == {"mynumber": NUMBER}

    case = client.get(f"/staff/cases/{application.pk}/").content.decode()
    assert MASK in case and NUMBER not in case
    api = client.get(f"/api/applications/{application.pk}/").json()
    assert api["answers"]["mynumber"] == MASK and NUMBER not in str(api)


def test_the_mask_posted_back_keeps_the_number(client, clerk, walk_in, tennyu):
    application = _start(client, clerk, walk_in)
    url = f"/staff/counter-filing/{application.pk}/"
    client.post(url, {"name": walk_in.full_name, "mynumber": NUMBER})
    again = client.post(url, {"name": walk_in.full_name, "mynumber": MASK})
    assert again.status_code == 302
    application.refresh_from_db()
    assert services.sealed_mynumbers(application) == {"mynumber": NUMBER}


def test_a_mistyped_number_is_refused_beside_the_field_and_never_stored(
    client, clerk, walk_in, tennyu
):
    application = _start(client, clerk, walk_in)
    page = client.post(
        f"/staff/counter-filing/{application.pk}/",
        {"name": walk_in.full_name, "mynumber": MISTYPED},
    )
    assert page.status_code == 400
    body = page.content.decode()
    assert "12桁の正しい個人番号を入力してください" in body
    assert MISTYPED not in body
    assert walk_in.full_name in body  # the other answers are kept
    application.refresh_from_db()
    assert MISTYPED not in str(application.answers)
    assert services.sealed_mynumbers(application) == {}
    confirm = client.post(f"/staff/counter-filing/{application.pk}/confirm/")
    assert confirm.status_code == 400
    application.refresh_from_db()
    assert application.state == "draft"


def test_the_api_seals_the_number_too(client, clerk, walk_in, tennyu):
    application = _start(client, clerk, walk_in)
    response = client.post(
        f"/api/applications/{application.pk}/answers/",
        {"answers": {"name": walk_in.full_name, "mynumber": NUMBER}},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["answers"]["mynumber"] == MASK
    application.refresh_from_db()
    assert services.sealed_mynumbers(application) == {"mynumber": NUMBER}


def test_key_rotation_reseals_application_numbers(client, clerk, walk_in, tennyu, settings):
    settings.MYNUMBER_KEYS = ["old-key-0001"]
    application = _start(client, clerk, walk_in)
    client.post(
        f"/staff/counter-filing/{application.pk}/",
        {"name": walk_in.full_name, "mynumber": NUMBER},
    )
    settings.MYNUMBER_KEYS = ["new-key-0002", "old-key-0001"]
    call_command("rotate_mynumber_keys", stdout=io.StringIO())
    application.refresh_from_db()
    assert bytes(application.sealed_mynumbers).startswith(
        vault.VERSION + vault.key_id("new-key-0002")
    )
    settings.MYNUMBER_KEYS = ["new-key-0002"]
    assert services.sealed_mynumbers(application) == {"mynumber": NUMBER}
