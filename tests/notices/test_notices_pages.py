"""The notices pages through Django's test client: staff templates and composing (errors beside
the field, values kept), the audited preview, the 360 section, the resident's settings and
consent, and the API."""

from __future__ import annotations

import pytest
from django.test import Client
from notices_helpers import resident_with_account, run, staff, started_send, template
from readable_check import assert_readable, visible_text

from cityhall.models import AuditEvent
from notices import services
from notices.models import Consent, Preference, Send, Template

pytestmark = pytest.mark.django_db


def _staff_client(role: str):
    from allauth.mfa.totp.internal.auth import TOTP

    from factories import TOTP_SECRET

    user = staff(role)
    TOTP.activate(user, TOTP_SECRET)
    client = Client()
    client.force_login(user)
    return client, user


def test_an_event_template_naming_a_field_the_event_lacks_is_refused_beside_the_field():
    client, _user = _staff_client("clerk")
    data = {
        "key": "demand",
        "name": "督促",
        "topic": "personal",
        "event_key": "payments.demand_issued",
        "subject_ja": "((notice_kind)) ((birthday))",
        "subject_en": "((notice_kind))",
        "body_ja": "((name)) 様",
        "body_en": "Dear ((name))",
    }
    response = client.post("/staff/notices/templates/new/", data)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert "入力内容を確認してください" in text
    assert "((birthday))" in text and "((notice_kind))" in text  # named, with what is allowed
    assert 'value="((notice_kind)) ((birthday))"' in response.content.decode()
    assert not Template.objects.exists()
    data["subject_ja"] = "((notice_kind)): ((revenue))"
    assert client.post("/staff/notices/templates/new/", data).status_code == 302
    assert Template.objects.get().latest_version().number == 1


def test_saving_a_template_makes_a_new_version_and_sends_keep_theirs():
    resident, user = resident_with_account(address="桜ケ丘1丁目1番1号")
    tmpl = template(key="v")
    send = started_send(tmpl, {"towns": ["桜ケ丘:1"]})
    client, _u = _staff_client("clerk")
    response = client.post(
        f"/staff/notices/templates/{tmpl.pk}/",
        {
            "subject_ja": "第2版の件名",
            "subject_en": "Second",
            "body_ja": "本文",
            "body_en": "Body",
        },
    )
    assert response.status_code == 302
    assert tmpl.latest_version().number == 2
    send.refresh_from_db()
    assert send.template_version.number == 1
    from notices import selectors

    assert selectors.inbox_items(user)[0]["message"].subject == "テストのお知らせ"


def test_segment_page_counts_and_keeps_a_wrong_value_beside_its_field():
    for n in range(3):
        resident_with_account(address=f"緑町3丁目1番{n + 1}号")
    tmpl = template(key="seg")
    client, user = _staff_client("clerk")
    response = client.post("/staff/notices/new/", {"template": tmpl.pk})
    send = Send.objects.get()
    assert response["Location"] == f"/staff/notices/{send.pk}/segment/"
    bad = client.post(
        f"/staff/notices/{send.pk}/segment/",
        {"as_of": send.as_of.isoformat(), "age_min": "abc", "towns": ["緑町:3"], "count": "1"},
    )
    text = visible_text(bad.content.decode())
    assert "年齢（何歳から）" in text and "整数を入力してください。" in text
    assert 'value="abc"' in bad.content.decode()
    good = client.post(
        f"/staff/notices/{send.pk}/segment/",
        {"as_of": send.as_of.isoformat(), "towns": ["緑町:3"], "count": "1"},
    )
    assert "条件に合う住民: 3 人" in visible_text(good.content.decode())
    assert_readable(visible_text(good.content.decode()), where="segment page")


def test_the_preview_shows_a_real_resident_and_the_read_is_audited():
    resident, _user = resident_with_account(address="緑町1丁目1番1号")
    client, clerk = _staff_client("clerk")
    send = services.compose_send(template=template(key="p"), actor=clerk)
    services.set_segment(send=send, data={"towns": ["緑町:1"]}, actor=clerk)
    response = client.get(f"/staff/notices/{send.pk}/preview/")
    assert resident.full_name in response.content.decode()
    row = AuditEvent.objects.get(action="notices.preview")
    assert row.actor == clerk and row.purpose and row.object_id == str(resident.pk)
    assert row.ip_address == "127.0.0.1"


def test_the_counter_360_view_shows_the_residents_inbox_and_deliveries(smtp_server):
    from notices_helpers import subscribe

    resident, user = resident_with_account(address="中央2丁目1番1号")
    subscribe(user, "email")
    send = started_send(template(key="c"), {"towns": ["中央:2"]})
    run(send.pk)
    client, _clerk = _staff_client("clerk")
    page = client.get(f"/staff/counter/residents/{resident.pk}/")
    text = visible_text(page.content.decode())
    assert "お知らせ（受信箱と配信履歴）" in text
    assert "テストのお知らせ" in text and "配信済み" in text and "メール" in text
    assert_readable(text, where="360 view")


def test_resident_settings_keep_values_on_error_and_save():
    _r, user = resident_with_account()
    client = Client()
    client.force_login(user)
    bad = client.post(
        "/my/notices/settings/",
        {"topics": ["garbage"], "language": "ja", "quiet_start": "22:00", "quiet_end": ""},
    )
    text = visible_text(bad.content.decode())
    assert "通知しない時間帯は、始まりと終わりの両方を入力してください。" in text
    assert 'value="22:00"' in bad.content.decode()
    assert not Preference.objects.filter(user=user).exists()
    ok = client.post(
        "/my/notices/settings/",
        {"topics": ["garbage"], "language": "en", "quiet_start": "22:00", "quiet_end": "06:30"},
    )
    assert ok.status_code == 302
    saved = Preference.objects.get(user=user)
    assert saved.topics == ["garbage"] and saved.language == "en" and saved.channels == ["inbox"]
    line = client.post(
        "/my/notices/settings/", {"topics": [], "channels": ["line"], "language": "ja"}
    )
    assert "LINEで受け取るには、先にLINEと連携してください。" in visible_text(line.content.decode())


def test_consent_is_given_and_withdrawn_with_a_confirmation():
    resident, user = resident_with_account()
    client = Client()
    client.force_login(user)
    unchecked = client.post("/my/notices/consent/", {})
    assert "同意する場合はチェックを入れてください。" in visible_text(unchecked.content.decode())
    assert not Consent.objects.exists()
    assert client.post("/my/notices/consent/", {"agree": "on"}).status_code == 302
    assert Consent.objects.get().withdrawn_at is None
    page = client.get("/my/notices/consent/")
    assert "同意の取り消し" in visible_text(page.content.decode())
    assert client.post("/my/notices/consent/", {"confirm": "on"}).status_code == 302
    assert Consent.objects.get().withdrawn_at is not None


def test_inbox_pages_read_as_words_in_both_languages():
    _r, user = resident_with_account(address="東町2丁目2番2号")
    started_send(template(key="words"), {"towns": ["東町:2"]})
    client = Client()
    client.force_login(user)
    for lang in ("ja", "en"):
        client.cookies["django_language"] = lang
        for path in ("/my/notices/", "/my/notices/settings/", "/my/notices/line/"):
            response = client.get(path)
            assert response.status_code == 200
            assert_readable(visible_text(response.content.decode()), lang=lang, where=path)
    english = visible_text(client.get("/my/notices/settings/").content.decode())
    assert "How you receive notices" in english and "受け取る分野" not in english


def test_api_inbox_sends_and_segment_count():
    _r, user = resident_with_account(address="旭町3丁目1番1号")
    send = started_send(template(key="api"), {"towns": ["旭町:3"]})
    resident_client = Client()
    resident_client.force_login(user)
    inbox = resident_client.get("/api/notices/inbox/").json()
    assert [item["subject"] for item in inbox] == ["テストのお知らせ"]
    assert resident_client.get("/api/notices/sends/").status_code == 403
    client, _clerk = _staff_client("clerk")
    detail = client.get(f"/api/notices/sends/{send.pk}/").json()
    assert detail["send"]["state"] == "sending"
    assert {c["code"] for c in detail["channels"]} == {"inbox"}
    counted = client.post(
        "/api/notices/segments/count/",
        {"segment": {"towns": ["旭町:3"]}},
        content_type="application/json",
    ).json()
    assert counted == {"residents": 1, "reachable": 1}
    wrong = client.post(
        "/api/notices/segments/count/",
        {"segment": {"age_min": 50, "age_max": 10}},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and "age_max" in wrong.json()["segment"]


def test_a_sends_page_reads_as_words_in_both_languages():
    """The send's history names its states (not blanks or codes) and the staff labels are
    translated: no Japanese label or stored Japanese remark on the English page."""
    resident_with_account(address="西町1丁目1番1号")
    approver = staff("supervisor")
    send = started_send(template(key="history"), {"towns": ["西町:1"]}, approver=approver)
    client, _user = _staff_client("supervisor")
    pages = {}
    for lang in ("ja", "en"):
        client.cookies["django_language"] = lang
        for path in (f"/staff/notices/{send.pk}/", "/staff/notices/", "/staff/notices/stats/"):
            response = client.get(path)
            assert response.status_code == 200
            text = visible_text(response.content.decode())
            assert_readable(text, lang=lang, where=path)
            pages[lang, path] = text
    japanese = pages["ja", f"/staff/notices/{send.pk}/"]
    english = pages["en", f"/staff/notices/{send.pk}/"]
    assert "作成中 → 承認待ち" in japanese or "作成中 → 配信予約済み" in japanese
    assert "配信予約済み → 配信中" in japanese
    assert "Scheduled → Sending" in english and "Draft" in english
    assert "Composed by" in english and "Approved by" in english
    for word in ("作成した職員", "承認した職員", "配信開始", "承認依頼", "履歴"):
        assert word not in english, word
