"""A staff read through the API writes the same audit row as the page does,
with the client's address; a resident reading their own data writes none."""

from __future__ import annotations

from factories_procedures import approved_application

from cityhall.models import AuditEvent

ADDRESS = "10.9.8.7"
ANSWERS = {"name": "山田 太郎", "address": "本町1丁目1番1号", "purpose": "勤務先に提出"}


def _rows_since(mark: int):
    return list(
        AuditEvent.objects.filter(id__gt=mark)
        .order_by("id")
        .values_list("action", "object_type", "object_id", "purpose", "ip_address", "actor_id")
    )


def _mark() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_case_read_by_api_and_by_page_write_the_same_row(
    client, clerk, resident, residence_procedure
):
    application = approved_application(
        resident, residence_procedure, clerk, ANSWERS | {"members": [str(resident.pk)]}
    )
    client.force_login(clerk)
    mark = _mark()
    assert client.get(f"/staff/cases/{application.pk}/", REMOTE_ADDR=ADDRESS).status_code == 200
    page_rows = _rows_since(mark)
    mark = _mark()
    api = client.get(f"/api/applications/{application.pk}/", REMOTE_ADDR=ADDRESS)
    assert api.status_code == 200
    api_rows = _rows_since(mark)
    expected = (
        "procedures.case_viewed",
        "procedures.Application",
        str(application.pk),
        "審査",
        ADDRESS,
        clerk.pk,
    )
    assert page_rows == api_rows == [expected]


def test_api_lists_and_events_are_audited(client, clerk, resident, residence_procedure):
    application = approved_application(
        resident, residence_procedure, clerk, ANSWERS | {"members": [str(resident.pk)]}
    )
    client.force_login(clerk)
    mark = _mark()
    assert client.get("/api/applications/", REMOTE_ADDR=ADDRESS).status_code == 200
    listed = AuditEvent.objects.get(id__gt=mark)
    assert (listed.action, listed.ip_address) == ("procedures.cases_listed", ADDRESS)
    assert listed.details["applications"] == [application.pk]
    mark = _mark()
    events = client.get(f"/api/applications/{application.pk}/events/", REMOTE_ADDR=ADDRESS)
    assert events.status_code == 200
    row = AuditEvent.objects.get(id__gt=mark)
    assert (row.action, row.object_id, row.purpose) == (
        "procedures.case_events_viewed",
        str(application.pk),
        "審査",
    )


def test_resident_search_history_and_ledger_through_the_api_are_audited(client, clerk, resident):
    client.force_login(clerk)
    mark = _mark()
    found = client.get("/api/residents/", {"q": "ヤマダ"}, REMOTE_ADDR=ADDRESS)
    assert resident.pk in [row["id"] for row in found.json()]
    search = AuditEvent.objects.get(id__gt=mark)
    assert (search.action, search.ip_address, search.purpose) == (
        "residents.search",
        ADDRESS,
        "住民の検索",
    )
    assert search.details["results"] == [resident.pk]
    # the page's search writes the same row
    mark = _mark()
    client.get("/staff/residents/", {"q": "ヤマダ"}, REMOTE_ADDR=ADDRESS)
    page_search = AuditEvent.objects.get(id__gt=mark)
    assert (page_search.action, page_search.details) == (search.action, search.details)

    mark = _mark()
    assert client.get(f"/api/residents/{resident.pk}/history/").status_code == 200
    history = AuditEvent.objects.get(id__gt=mark)
    assert (history.action, history.object_id) == ("residents.history_viewed", str(resident.pk))

    for path in (
        "/api/payments/statement/",
        "/api/payments/installments/",
        "/api/payments/payments/",
    ):
        mark = _mark()
        response = client.get(path, {"resident": resident.pk}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200, path
        ledger = AuditEvent.objects.get(id__gt=mark)
        assert (ledger.action, ledger.object_id, ledger.ip_address) == (
            "payments.view_resident_ledger",
            str(resident.pk),
            ADDRESS,
        ), path


def test_a_resident_reading_their_own_data_writes_no_row(
    client, resident_user, resident, residence_procedure, clerk
):
    application = approved_application(
        resident, residence_procedure, clerk, ANSWERS | {"members": [str(resident.pk)]}
    )
    client.force_login(resident_user)
    mark = _mark()
    assert client.get(f"/api/applications/{application.pk}/").status_code == 200
    assert client.get("/api/payments/statement/").status_code == 200
    assert _rows_since(mark) == []
