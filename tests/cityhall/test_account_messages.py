"""E-mails carry the city's name and URL (never example.com), sign-up errors stand
under their field, and "link your account" messages link to the page they mean."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.sites.models import Site
from django.core import mail
from factories_procedures import make_procedure

from cityhall.accounts import sync_site

pytestmark = pytest.mark.django_db


def test_the_site_row_follows_machiba_site_url(settings):
    settings.SITE_URL = "https://www.city.machiba.example.jp"
    settings.CITY_NAME = "まちば市"
    sync_site()
    site = Site.objects.get(pk=settings.SITE_ID)
    assert site.domain == "www.city.machiba.example.jp" and site.name == "まちば市"


def test_the_sign_up_email_names_the_city_and_its_address_not_example_com(client, settings):
    sync_site()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new.resident@example.jp",
            "password1": "machiba-strong-pass-2026",
            "password2": "machiba-strong-pass-2026",
        },
    )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject.startswith(f"[{settings.CITY_NAME}]")
    text = message.subject + message.body
    assert "example.com" not in text
    assert settings.CITY_NAME in text or urlsplit(settings.SITE_URL).netloc in text


def test_sign_up_errors_stand_under_the_field_they_concern(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "not-an-address", "password1": "abc", "password2": "abd"},
    )
    page = response.content.decode()
    email_input = page.index('id="id_email"')
    email_error = page.index('id="id_email_error"')
    password_label = page.index('for="id_password1"')
    assert email_input < email_error < password_label
    password_input = page.index('id="id_password1"')
    password_error = page.index('id="id_password1_error"')
    assert password_input < password_error < page.index('for="id_password2"')
    # And summarised at the top, each linking to its field.
    summary = page.index('class="error-summary"')
    assert summary < page.index('for="id_email"')
    assert 'href="#id_email"' in page[summary:email_input]


def test_an_unlinked_account_is_told_where_to_link_it(client, resident_user):
    procedure = make_procedure(slug="juminhyo")
    client.force_login(resident_user)
    response = client.post(f"/procedures/{procedure.slug}/apply/", follow=True)
    page = response.content.decode()
    assert "住民の記録と連携したアカウントだけが申請できます" in page
    assert '<a href="/my/link/">' in page
