from __future__ import annotations

import pytest
from factories_residents import move_in

from cityhall.models import AuditEvent
from residents.models import Movement, Resident

pytestmark = pytest.mark.django_db


def test_clerk_searches_by_half_width_kana(clerk_client, yamada_family):
    response = clerk_client.get("/staff/residents/", {"q": "ﾔﾏﾀﾞ ﾊﾅｺ"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "山田 花子" in body and "山田 太郎" not in body


def test_empty_search_shows_the_error_summary(clerk_client, yamada_family):
    body = clerk_client.get("/staff/residents/", {"q": ""}).content.decode()
    assert "error-summary" in body
    assert "いずれかを入力してください" in body


def test_detail_asks_the_purpose_first_and_writes_no_audit(clerk_client, yamada_family):
    head = yamada_family[0]
    response = clerk_client.get(f"/staff/residents/{head.pk}/")
    body = response.content.decode()
    assert "利用目的" in body and "窓口対応" in body and "税・料金" in body
    assert head.resident_code not in body
    assert not AuditEvent.objects.filter(action="residents.resident_viewed").exists()


def test_detail_read_writes_audit_with_purpose(clerk_client, clerk, yamada_family):
    head = yamada_family[0]
    response = clerk_client.get(f"/staff/residents/{head.pk}/", {"purpose": "billing"})
    body = response.content.decode()
    assert response.status_code == 200
    assert head.resident_code in body
    assert "山田 花子" in body and "山田 一郎" in body  # household members
    assert "転入" in body  # movement history
    event = AuditEvent.objects.get(action="residents.resident_viewed")
    assert (event.actor, event.object_id, event.purpose) == (clerk, str(head.pk), "税・料金")


def test_resident_account_cannot_open_staff_pages(client, resident_user, yamada_family):
    client.force_login(resident_user)
    assert client.get("/staff/residents/", {"q": "ヤマダ"}).status_code == 403


def test_move_out_form_shows_the_head_successor_message(clerk_client, yamada_family):
    head = yamada_family[0]
    response = clerk_client.post(
        f"/staff/residents/{head.pk}/move-out/",
        {"effective_on": "2024-03-31", "notified_on": "2024-03-25", "destination": ""},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "error-summary" in body
    assert "新しい世帯主を指定してください" in body
    assert Resident.objects.get(pk=head.pk).status == "current"


def test_move_in_form_reports_each_field(clerk_client):
    response = clerk_client.post(
        "/staff/residents/move-in/",
        {
            "family_name": "",
            "given_name": "次郎",
            "family_name_kana": "Tanaka",
            "given_name_kana": "ジロウ",
            "birth_date": "1990-01-01",
            "sex": "male",
            "address": "本町1丁目1番1号",
            "effective_on": "2024-01-01",
            "notified_on": "2024-01-05",
            "mynumber": "123",
        },
    )
    body = response.content.decode()
    assert 'href="#id_family_name"' in body
    assert not Resident.objects.exists()


def test_move_in_form_registers_and_shows_detail(clerk_client):
    response = clerk_client.post(
        "/staff/residents/move-in/",
        {
            "family_name": "田中",
            "given_name": "次郎",
            "family_name_kana": "たなか",
            "given_name_kana": "ｼﾞﾛｳ",
            "birth_date": "1990-01-01",
            "sex": "male",
            "address": "本町1-1-1",
            "effective_on": "2024-01-01",
            "notified_on": "2024-01-05",
            "mynumber": "526018159084",
        },
        follow=True,
    )
    # No purpose chosen yet in this session: the record is not shown until one is.
    assert "利用目的を選んでください" in response.content.decode()
    resident = Resident.objects.get()
    assert resident.family_name_kana == "タナカ" and resident.given_name_kana == "ジロウ"
    response = clerk_client.get(f"/staff/residents/{resident.pk}/", {"purpose": "counter"})
    body = response.content.decode()
    assert "********9084" in body and "526018159084" not in body


def test_relocation_form_moves_the_household(clerk_client, yamada_family):
    head, spouse, child = yamada_family
    response = clerk_client.post(
        f"/staff/residents/{head.pk}/relocation/",
        {
            "residents": [head.pk, spouse.pk, child.pk],
            "address": "緑町2丁目5番8号",
            "effective_on": "2024-05-01",
            "notified_on": "2024-05-02",
        },
    )
    assert response.status_code == 302
    assert Movement.objects.filter(kind="relocation").count() == 3
    assert Resident.objects.get(pk=head.pk).household.address.label == "緑町2丁目5番8号"


def test_clerk_cannot_reveal_through_the_page(clerk_client):
    resident = move_in(mynumber="526018159084")
    response = clerk_client.post(f"/staff/residents/{resident.pk}/mynumber/", {"purpose": "確認"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="residents.mynumber_revealed").exists()


def test_supervisor_reveals_through_the_page(client, supervisor):
    resident = move_in(mynumber="526018159084")
    client.force_login(supervisor)
    detail = client.get(f"/staff/residents/{resident.pk}/", {"purpose": "review"}).content.decode()
    assert "個人番号を表示" in detail and "526018159084" not in detail
    response = client.post(f"/staff/residents/{resident.pk}/mynumber/", {"purpose": "児童手当"})
    assert "526018159084" in response.content.decode()
    assert AuditEvent.objects.get(action="residents.mynumber_revealed").purpose == "児童手当"


def test_correction_form_records_only_changed_fields(clerk_client, yamada_family):
    head = yamada_family[0]
    data = {
        "family_name": head.family_name,
        "given_name": "太朗",
        "family_name_kana": head.family_name_kana,
        "given_name_kana": head.given_name_kana,
        "birth_date": head.birth_date.isoformat(),
        "sex": head.sex,
        "relationship": head.relationship,
        "registered_domicile": "",
        "domicile_head": "",
        "mynumber": "",
        "reason": "誤記",
        "notified_on": "2024-09-01",
    }
    response = clerk_client.post(f"/staff/residents/{head.pk}/correct/", data)
    assert response.status_code == 302
    movement = Movement.objects.get(kind="correction")
    assert movement.previous == {"given_name": "太郎"}
