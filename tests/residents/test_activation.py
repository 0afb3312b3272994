from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from cityhall.models import AuditEvent
from residents import services
from residents.models import ActivationCode, Resident

pytestmark = pytest.mark.django_db

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def _issue(clerk_client, resident) -> str:
    response = clerk_client.post(f"/staff/residents/{resident.pk}/activation/")
    assert response.status_code == 200
    body = response.content.decode()
    assert resident.household.address.label in body  # the letter is addressed
    match = CODE.search(body)
    assert match is not None
    return match[0]


def test_code_is_shown_once_and_stored_hashed(clerk_client, yamada_family):
    head = yamada_family[0]
    code = _issue(clerk_client, head)
    stored = ActivationCode.objects.get(resident=head)
    assert code not in stored.code_hash and code.replace("-", "") not in stored.code_hash
    assert stored.expires_at > timezone.now() + timedelta(days=29)
    detail = clerk_client.get(f"/staff/residents/{head.pk}/", {"purpose": "counter"})
    assert code not in detail.content.decode()
    assert AuditEvent.objects.filter(action="residents.activation_code_issued").exists()


def test_resident_links_with_code_and_birth_date_then_sees_my_info(
    clerk_client, client, resident_user, other_resident_user, yamada_family
):
    head = yamada_family[0]
    code = _issue(clerk_client, head)
    client.force_login(resident_user)
    assert client.get("/my/info/").status_code == 302
    response = client.post(
        "/my/link/", {"code": code.lower().replace("-", " "), "birth_date": "1980-05-01"}
    )
    assert response.status_code == 302 and response["Location"] == "/my/info/"
    assert Resident.objects.get(pk=head.pk).user == resident_user
    body = client.get("/my/info/").content.decode()
    assert "山田 太郎" in body and "山田 花子" in body and "山田 一郎" in body
    assert "個人番号" not in body
    # One-time: the same code cannot link a second account.
    with pytest.raises(Exception, match="正しくありません"):
        services.link_account(user=other_resident_user, code=code, birth_date=head.birth_date)


def test_wrong_birth_date_counts_and_five_failures_lock(
    clerk_client, client, resident_user, yamada_family
):
    head = yamada_family[0]
    code = _issue(clerk_client, head)
    client.force_login(resident_user)
    for attempt in range(1, 5):
        body = client.post("/my/link/", {"code": code, "birth_date": "1999-01-01"}).content.decode()
        assert f"あと{5 - attempt}回まで" in body
    body = client.post("/my/link/", {"code": code, "birth_date": "1999-01-01"}).content.decode()
    assert "利用者登録を一時停止しています" in body
    # Locked: even the right answer is refused now.
    body = client.post("/my/link/", {"code": code, "birth_date": "1980-05-01"}).content.decode()
    assert "一時停止" in body
    assert Resident.objects.get(pk=head.pk).user is None


def test_expired_code_is_refused(clerk, resident_user, yamada_family):
    head = yamada_family[0]
    _activation, code = services.issue_activation_code(resident=head, clerk=clerk)
    ActivationCode.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(Exception, match="正しくありません"):
        services.link_account(user=resident_user, code=code, birth_date=date(1980, 5, 1))


def test_a_new_code_revokes_the_old_one(clerk, resident_user, yamada_family):
    head = yamada_family[0]
    _first, old = services.issue_activation_code(resident=head, clerk=clerk)
    _second, new = services.issue_activation_code(resident=head, clerk=clerk)
    with pytest.raises(Exception, match="正しくありません"):
        services.link_account(user=resident_user, code=old, birth_date=date(1980, 5, 1))
    assert services.link_account(user=resident_user, code=new, birth_date=date(1980, 5, 1)) == head
