"""The facility pages as residents and staff use them, through Django's test client."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from factories_facilities import (
    at,
    group,
    individual,
    make_equipment,
    make_facility,
    make_unit,
    open_round,
    pay_at_counter,
    resident_account,
)
from icalendar import Calendar

from cityhall.models import AuditEvent
from facilities.models import Booking, Registration, RoundSlot
from facilities.services import bookings, lottery
from factories import UserFactory

pytestmark = pytest.mark.django_db


def english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})


def test_search_shows_a_grid_whose_free_cells_link_to_booking(client):
    facility = make_facility(name_ja="本町体育館", name_en="Honcho Gym")
    unit = make_unit(facility, name_ja="アリーナA面", name_en="Arena A")
    day = timezone.localdate() + timedelta(days=2)
    person = individual()
    bookings.hold_first_come(
        registration=person, user=person.representative, unit=unit, starts_at=at(day, 9)
    )
    page = client.get("/facilities/", {"kind": "gym", "date": day.isoformat()}).content.decode()
    assert "本町体育館" in page and "アリーナA面" in page
    assert "予約済み" in page  # the held morning
    assert (
        f"/facilities/units/{unit.code}/book/?start={day.isoformat()}T13%3A00%3A00%2B09%3A00"
        in page
    )
    english(client)
    page = client.get("/facilities/", {"kind": "gym", "date": day.isoformat()}).content.decode()
    assert "Honcho Gym" in page and "Arena A" in page and "Taken" in page and "Free" in page
    assert "本町体育館" not in page


def test_the_booking_form_keeps_values_on_error_then_confirms_then_holds(client):
    facility = make_facility()
    unit = make_unit(facility, capacity=20)
    projector = make_equipment(facility, fee=300)
    person = individual()
    client.force_login(person.representative)
    day = timezone.localdate() + timedelta(days=5)
    url = f"/facilities/units/{unit.code}/book/?start={at(day, 18).isoformat()}"
    data = {
        "registration": person.pk,
        "purpose": "バドミントン練習",
        "attendees": 40,  # over the capacity of 20
        f"equipment_{projector.pk}": 1,
        "action": "review",
    }
    page = client.post(url, data).content.decode()
    assert "入力内容を確認してください" in page  # the summary at the top …
    assert 'id="id_attendees_errors"' in page  # … and the error next to the field
    assert 'value="バドミントン練習"' in page  # the posted values are kept
    data["attendees"] = 12
    page = client.post(url, data).content.decode()
    assert "予約内容の確認" in page and "2,100円" in page  # 夜間 1,800 + projector 300
    assert not Booking.objects.exists()  # nothing is held before the confirmation
    response = client.post(url, {**data, "action": "book"})
    booking = Booking.objects.get()
    assert response["Location"] == f"/my/facilities/bookings/{booking.pk}/"
    assert booking.state == "held" and booking.fee == 2_100 and booking.attendees == 12
    page = client.get(response["Location"]).content.decode()
    assert "お支払い方法を選んでください" in page and booking.reference in page


def test_without_a_registration_the_booker_is_sent_to_register(client):
    unit = make_unit(make_facility())
    client.force_login(resident_account())
    day = timezone.localdate() + timedelta(days=5)
    response = client.get(f"/facilities/units/{unit.code}/book/", {"start": at(day, 9).isoformat()})
    assert response.status_code == 302 and response["Location"].startswith(
        "/my/facilities/registrations/"
    )


def test_cancelling_asks_first_and_names_the_refund(
    client, clerk, django_capture_on_commit_callbacks
):
    unit = make_unit(make_facility())
    person = individual()
    user = person.representative
    day = timezone.localdate() + timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=True):
        booking = bookings.hold_first_come(
            registration=person, user=user, unit=unit, starts_at=at(day, 9)
        )
        bookings.pay_online(booking=booking, user=user)
        booking.refresh_from_db()
        pay_at_counter(booking, clerk)
    client.force_login(user)
    page = client.get(f"/my/facilities/bookings/{booking.pk}/cancel/").content.decode()
    assert "使用料の50％（600円）を還付します" in page
    assert "取り消した予約は元に戻せません" in page
    booking.refresh_from_db()
    assert booking.state == "paid"
    client.post(f"/my/facilities/bookings/{booking.pk}/cancel/", {"reason": "都合により"})
    booking.refresh_from_db()
    assert booking.state == "cancelled" and booking.refund.amount == 600


def test_my_bookings_as_icalendar_by_download_and_by_subscription(client):
    unit = make_unit(make_facility(name_ja="緑町会議室"))
    person = individual()
    user = person.representative
    day = timezone.localdate() + timedelta(days=6)
    booking = bookings.hold_first_come(
        registration=person, user=user, unit=unit, starts_at=at(day, 13)
    )
    bookings.pay_later(booking=booking, user=user)
    client.force_login(user)
    page = client.get("/my/facilities/").content.decode()
    feed = page.split('id="feed-url" value="')[1].split('"')[0]
    calendar = Calendar.from_ical(client.get("/my/facilities/calendar.ics").content)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    assert str(events[0]["summary"]).startswith("緑町会議室")
    assert events[0].decoded("dtstart") == at(day, 13)
    client.logout()
    from_feed = Calendar.from_ical(client.get(feed.replace("http://testserver", "")).content)
    assert [str(e["uid"]) for e in from_feed.walk("VEVENT")] == [str(events[0]["uid"])]
    assert client.get("/facilities/calendar/forged-token.ics").status_code == 404


def test_a_group_application_with_errors_keeps_every_member(client):
    user = resident_account()
    client.force_login(user)
    data = {
        "name": "青空テニス会",
        "name_kana": "アオゾラテニスカイ",
        "phone": "03-0000-0000",
        "activity": "テニス",
        "members-TOTAL_FORMS": "10",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "60",
    }
    for i, (name, kana) in enumerate(
        [("青空一郎", "アオゾライチロウ"), ("青空二郎", "アオゾラジロウ"), ("青空三郎", "")]
    ):
        data.update(
            {
                f"members-{i}-name": name,
                f"members-{i}-name_kana": kana,
                f"members-{i}-relation": "lives",
            }
        )
    page = client.post("/my/facilities/registrations/group/", data).content.decode()
    assert "氏名、フリガナ、市との関係をすべて入力してください" in page
    assert 'value="青空二郎"' in page and 'value="青空テニス会"' in page
    data["members-2-name_kana"] = "アオゾラサブロウ"
    page = client.post("/my/facilities/registrations/group/", data).content.decode()
    assert "5人以上必要です（いま3人）" in page
    assert not Registration.objects.filter(kind="group").exists()


def test_round_pages_publish_the_commitment_then_the_seed_and_verify(client, supervisor):
    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round()
    slot = RoundSlot.objects.filter(round=round_, unit=unit).first()
    for person in (individual(), individual()):
        lottery.enter(
            round_=round_, registration=person, user=person.representative, slot_ids=[slot.pk]
        )
    assert client.get(f"/facilities/lottery/{round_.code}/entries.json").status_code == 404
    lottery.close_round(round_=round_)
    round_.refresh_from_db()
    page = client.get(f"/facilities/lottery/{round_.code}/").content.decode()
    assert round_.seed_sha256 in page and round_.seed not in page
    entries = client.get(f"/facilities/lottery/{round_.code}/entries.json")
    assert entries.content == bytes(round_.entries_file)
    assert client.get(f"/facilities/lottery/{round_.code}/results.json").status_code == 404
    lottery.start_draw(round_=round_, clerk=supervisor)
    lottery.run_draw(round_.pk)
    assert client.get(f"/facilities/lottery/{round_.code}/verify/").status_code == 404
    lottery.publish(round_=round_, clerk=supervisor)
    results = json.loads(client.get(f"/facilities/lottery/{round_.code}/results.json").content)
    assert results["seed"] == round_.seed and len(results["winners"]) == 1
    page = client.get(f"/facilities/lottery/{round_.code}/verify/").content.decode()
    assert "一致しました。1件の当選がすべて同じです。" in page
    script = client.get("/facilities/lottery/draw.py")
    assert b"def verify(" in script.content


# --- staff ---------------------------------------------------------------------------------------


def test_the_week_calendar_names_bookers_and_writes_an_audit_row(client, clerk):
    facility = make_facility()
    unit = make_unit(facility)
    club = group(clerk=clerk, name="夕焼け卓球クラブ")
    day = timezone.localdate() + timedelta(days=1)
    bookings.hold_first_come(
        registration=club, user=club.representative, unit=unit, starts_at=at(day, 18)
    )
    client.force_login(clerk)
    page = client.get(
        f"/staff/facilities/{facility.code}/week/", {"date": day.isoformat()}
    ).content.decode()
    assert "夕焼け卓球クラブ" in page
    assert AuditEvent.objects.filter(actor=clerk, action="facilities.view_week").exists()


def test_a_clerk_approves_a_group_on_its_page(client, clerk):
    from factories_facilities import members

    from facilities.services import registrations

    pending = registrations.apply_group(
        user=resident_account(),
        name="山歩きの会",
        name_kana="ヤマアルキノカイ",
        members=members(5, prefix="山歩"),
    )
    client.force_login(clerk)
    page = client.get(f"/staff/facilities/registrations/{pending.pk}/").content.decode()
    assert "山歩0" in page and "市内団体の条件を満たします" in page
    page = client.post(
        f"/staff/facilities/registrations/{pending.pk}/", {"decision": "reject"}
    ).content.decode()
    assert "不承認の理由を入力してください" in page
    client.post(f"/staff/facilities/registrations/{pending.pk}/", {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.state == "approved" and pending.decided_by == clerk


def test_staff_block_a_slot_after_a_confirmation_page(client, clerk):
    facility = make_facility()
    unit = make_unit(facility)
    client.force_login(clerk)
    day = timezone.localdate() + timedelta(days=3)
    data = {
        "unit": unit.pk,
        "day": day.isoformat(),
        "starts": "09:00",
        "ends": "12:00",
        "reason": "防災訓練",
    }
    page = client.post(
        f"/staff/facilities/{facility.code}/block/", {**data, "action": "review"}
    ).content.decode()
    assert "この時間を押さえてよろしいですか" in page and not Booking.objects.exists()
    client.post(f"/staff/facilities/{facility.code}/block/", {**data, "action": "block"})
    blocked = Booking.objects.get()
    assert blocked.kind == "official" and blocked.purpose == "防災訓練"


def test_check_in_at_the_door_on_the_day(client, clerk):
    facility = make_facility()
    unit = make_unit(facility)
    person = individual()
    # A booking for this evening (its time is still ahead), paid.
    now = timezone.localtime()
    day = now.date() if now.hour < 17 else now.date() + timedelta(days=1)
    booking = bookings.hold_first_come(
        registration=person, user=person.representative, unit=unit, starts_at=at(day, 18)
    )
    Booking.objects.filter(pk=booking.pk).update(state="paid")
    client.force_login(clerk)
    if day == now.date():
        page = client.get(
            f"/staff/facilities/{facility.code}/check-in/", {"reference": booking.reference}
        ).content.decode()
        assert booking.reference in page and person.name in page
        client.post(f"/staff/facilities/bookings/{booking.pk}/check-in/")
        booking.refresh_from_db()
        assert booking.state == "used" and booking.checked_in_by == clerk
    else:
        client.post(f"/staff/facilities/bookings/{booking.pk}/check-in/")
        booking.refresh_from_db()
        assert booking.state == "paid"  # not on the day: refused


def test_the_draw_runs_from_the_staff_page_and_reports_progress(client, supervisor, clerk):
    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round()
    slot = RoundSlot.objects.filter(round=round_, unit=unit).first()
    person = individual()
    lottery.enter(
        round_=round_, registration=person, user=person.representative, slot_ids=[slot.pk]
    )
    client.force_login(clerk)
    assert client.post(f"/staff/facilities/lottery/{round_.code}/close/").status_code == 403
    client.force_login(supervisor)
    client.post(f"/staff/facilities/lottery/{round_.code}/close/")
    client.post(f"/staff/facilities/lottery/{round_.code}/draw/")
    round_.refresh_from_db()
    assert round_.state == "drawing"
    fragment = client.get(
        f"/staff/facilities/lottery/{round_.code}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "<progress" in fragment
    lottery.run_draw(round_.pk)  # what the Celery task does (test_draw_task runs a real worker)
    fragment = client.get(
        f"/staff/facilities/lottery/{round_.code}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert (
        "hx-trigger" not in fragment and 'value="100"' in fragment and "結果を公開する" in fragment
    )


def test_usage_statistics_and_csv(client, supervisor, clerk):
    facility = make_facility(name_ja="若葉台テニスコート")
    unit = make_unit(facility, name_ja="コート1")
    day = timezone.localdate() + timedelta(days=1)
    bookings.block_slots(
        unit=unit, starts_at=at(day, 9), ends_at=at(day, 12), clerk=clerk, reason="市の大会"
    )
    client.force_login(clerk)
    assert client.get("/staff/facilities/stats/").status_code == 403
    client.force_login(supervisor)
    month = day.replace(day=1)
    query = {"first": month.isoformat(), "last": month.isoformat(), "facility": facility.pk}
    page = client.get("/staff/facilities/stats/", query).content.decode()
    assert "若葉台テニスコート" in page
    # One line per unit and one column per month, with the months' totals underneath.
    two_months = query | {"first": (month - timedelta(days=1)).replace(day=1).isoformat()}
    page = client.get("/staff/facilities/stats/", two_months).content.decode()
    table = page[page.index('id="stats"') : page.index("</table>")]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    assert body.count("<tr>") == 1
    assert f"{month:%Y-%m}</th>" in table and table.count('scope="col" class="num"') == 2
    assert "3.0／" in table and "1件" in table and "<tfoot>" in table and "合計" in table
    # All facilities: the totals over four units pass a thousand hours, written with separators.
    other = make_facility()
    for _ in range(3):
        make_unit(other, hourly=True)
    page = client.get(
        "/staff/facilities/stats/", {"first": month.isoformat(), "last": month.isoformat()}
    )
    totals = page.content.decode().split("<tfoot>")[1]
    assert re.search(r"／\d,\d{3}\.\d時間", totals), totals
    english(client)
    page = client.get("/staff/facilities/stats/", query).content.decode()
    assert "3.0 / " in page and "1 booking" in page and "Total" in page
    client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    body = client.get("/staff/facilities/stats.csv", query).content.decode("utf-8-sig")
    header, row = body.splitlines()[:2]
    assert header.split(",")[0] == "月"
    cells = row.split(",")
    assert cells[0] == f"{month:%Y-%m}" and cells[2] == "コート1" and cells[4] == "3.0"
    assert float(cells[5]) > 0
    # 10 hours a day offered (3 + 4 + 3) on every open day of the month
    assert float(cells[3]) % 10 == 0


def test_the_api_books_and_lists_and_refuses_someone_elses_booking(client):
    unit = make_unit(make_facility())
    person = individual()
    client.force_login(person.representative)
    day = timezone.localdate() + timedelta(days=8)
    made = client.post(
        "/api/facilities/my/bookings/",
        {
            "registration": person.pk,
            "unit": unit.code,
            "starts_at": at(day, 13).isoformat(),
            "attendees": 5,
        },
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["state"] == "held"
    again = client.post(
        "/api/facilities/my/bookings/",
        {"registration": person.pk, "unit": unit.code, "starts_at": at(day, 13).isoformat()},
        content_type="application/json",
    )
    assert again.status_code == 409 and "すでに予約されています" in again.json()["starts_at"][0]
    grid = client.get(
        "/api/facilities/availability/",
        {"facility": unit.facility.code, "from": day.isoformat(), "days": 1},
    )
    statuses = {s["period"]: s["status"] for s in grid.json()[0]["slots"]}
    assert statuses == {"am": "free", "pm": "booked", "night": "free"}
    other = UserFactory(role="resident")
    client.force_login(other)
    assert client.get(f"/api/facilities/my/bookings/{made.json()['id']}/").status_code == 404


def test_refusing_a_group_and_withdrawing_an_entry_ask_first(client, clerk):
    from factories_facilities import members

    from facilities.services import registrations

    pending = registrations.apply_group(
        user=resident_account(),
        name="星空の会",
        name_kana="ホシゾラノカイ",
        members=members(5, prefix="星空"),
    )
    client.force_login(clerk)
    url = f"/staff/facilities/registrations/{pending.pk}/"
    page = client.post(
        url, {"decision": "reject", "reason": "活動実態が確認できない"}
    ).content.decode()
    assert "不承認にしますか。理由「活動実態が確認できない」が申請者に伝わります。" in page
    pending.refresh_from_db()
    assert pending.state == "pending"
    client.post(url, {"decision": "reject", "reason": "活動実態が確認できない", "confirmed": "1"})
    pending.refresh_from_db()
    assert pending.state == "rejected" and pending.rejection_reason == "活動実態が確認できない"

    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round()
    person = individual()
    slot = RoundSlot.objects.filter(round=round_, unit=unit).first()
    entry = lottery.enter(
        round_=round_, registration=person, user=person.representative, slot_ids=[slot.pk]
    )
    client.force_login(person.representative)
    page = client.get(f"/my/facilities/entries/{entry.pk}/withdraw/").content.decode()
    assert "この申込を取り下げますか" in page and entry.number in page
    client.post(f"/my/facilities/entries/{entry.pk}/withdraw/")
    assert not round_.entries.exists()


def test_the_api_takes_recurring_use_and_refunds_need_two_people(
    client, clerk, supervisor, django_capture_on_commit_callbacks
):
    facility = make_facility()
    unit = make_unit(facility)
    club = group(clerk=clerk)
    client.force_login(club.representative)
    first = timezone.localdate() + timedelta(days=3)
    made = client.post(
        "/api/facilities/my/series/",
        {
            "registration": club.pk,
            "unit": unit.code,
            "weekday": first.weekday(),
            "starts": "19:00",  # not a whole period: every date is refused, with its reason
            "ends": "21:00",
            "first_date": first.isoformat(),
            "last_date": (first + timedelta(days=7)).isoformat(),
        },
        content_type="application/json",
    )
    assert made.status_code == 201
    assert {r["reason"] for r in made.json()["rejected"]} == {"outside_hours"}
    assert made.json()["bookings"] == []

    person = individual()
    with django_capture_on_commit_callbacks(execute=True):
        booking = bookings.hold_first_come(
            registration=person,
            user=person.representative,
            unit=unit,
            starts_at=at(first + timedelta(days=10), 9),
        )
        bookings.pay_online(booking=booking, user=person.representative)
        booking.refresh_from_db()
        pay_at_counter(booking, clerk)
    bookings.cancel(booking=booking, actor=person.representative)
    refund = booking.refund
    client.force_login(clerk)
    listed = client.get("/api/facilities/staff/refunds/").json()
    assert [r["amount"] for r in listed] == [1_200]
    assert (
        client.post(f"/api/facilities/staff/refunds/{refund.pk}/reduce/").json()["state"]
        == "reduced"
    )
    refused = client.post(f"/api/facilities/staff/refunds/{refund.pk}/pay/")
    assert refused.status_code == 409 and "別の職員" in refused.json()["detail"][0]
    client.force_login(supervisor)
    assert (
        client.post(f"/api/facilities/staff/refunds/{refund.pk}/pay/").json()["state"] == "refunded"
    )


def test_the_cached_availability_answer_changes_as_soon_as_a_booking_commits(
    client, django_capture_on_commit_callbacks
):
    unit = make_unit(make_facility())
    person = individual()
    day = timezone.localdate() + timedelta(days=6)
    query = {"facility": unit.facility.code, "from": day.isoformat(), "days": 1}

    def statuses():
        slots = client.get("/api/facilities/availability/", query).json()[0]["slots"]
        return {s["period"]: s["status"] for s in slots}

    assert statuses() == {"am": "free", "pm": "free", "night": "free"}  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        bookings.hold_first_come(
            registration=person, user=person.representative, unit=unit, starts_at=at(day, 9)
        )
    assert statuses() == {"am": "booked", "pm": "free", "night": "free"}


def test_the_availability_answer_carries_a_validator_and_answers_304_until_a_booking_commits(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    unit = make_unit(make_facility())
    person = individual()
    day = timezone.localdate() + timedelta(days=6)
    url = "/api/facilities/availability/"
    query = {"facility": unit.facility.code, "from": day.isoformat(), "days": 1}

    first = client.get(url, query)
    assert first.status_code == 200
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    # Public data, no person in it: a browser or proxy may keep it but must ask each time.
    assert first["Cache-Control"] == "public, no-cache"
    assert "Accept-Language" in first["Vary"]
    # The same answer again: from this process's copy, no query at all; the body is unchanged.
    with django_assert_num_queries(0):
        again = client.get(url, query)
    assert again.content == first.content and again["ETag"] == etag
    with django_assert_num_queries(0):
        unchanged = client.get(url, query, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True):
        bookings.hold_first_come(
            registration=person, user=person.representative, unit=unit, starts_at=at(day, 13)
        )
    changed = client.get(url, query, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert [s["status"] for s in changed.json()[0]["slots"]] == ["free", "booked", "free"]


def test_a_bad_availability_query_still_gets_the_apis_field_error(client):
    refused = client.get("/api/facilities/availability/", {"days": "0"})
    assert refused.status_code == 400 and refused.json() == {"days": "1–31"}
    refused = client.get("/api/facilities/availability/", {"from": "2026-13-01"})
    assert refused.status_code == 400 and refused.json() == {"from": "YYYY-MM-DD"}
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/facilities/availability/" in schema["paths"]
