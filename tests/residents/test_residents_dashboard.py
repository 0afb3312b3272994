"""The residents panel on /my/: the linked resident's own record, or the way to link."""

import pytest
from factories_residents import family, move_in

pytestmark = pytest.mark.django_db


def test_a_linked_resident_sees_their_own_record_summary(client, resident_user):
    head, _spouse, _child = family(address="本町3丁目12番4号")
    head.user = resident_user
    head.save(update_fields=["user"])
    stranger = move_in(family_name="佐藤", given_name="次郎", address="栄町1丁目2番3号")
    client.force_login(resident_user)
    body = client.get("/my/").content.decode()
    summary = body.split('id="my-record-summary"')[1].split("</dl>")[0]
    assert head.full_name in summary and "本町3丁目12番4号" in summary and "3 人" in summary
    assert 'href="/my/info/"' in body
    assert 'id="link-prompt"' not in body
    assert stranger.full_name not in body and "栄町" not in body


def test_an_unlinked_user_is_asked_to_link_the_account(client, resident_user):
    move_in(family_name="佐藤", given_name="次郎")
    client.force_login(resident_user)
    body = client.get("/my/").content.decode()
    assert 'id="link-prompt"' in body and 'href="/my/link/"' in body
    assert 'id="my-record-summary"' not in body and "佐藤" not in body


def test_an_unlinked_clerk_is_not_asked_to_link(clerk_client):
    body = clerk_client.get("/my/").content.decode()
    assert 'id="link-prompt"' not in body


def test_the_dashboard_needs_a_login(client):
    response = client.get("/my/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
