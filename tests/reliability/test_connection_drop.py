"""The database connection dies in the middle of a request: the person gets a clean error page,
nothing is half-written, and the next request works on a fresh connection."""

import psycopg2
import pytest
from django.db import connection
from django.test import Client

from residents.models import Address, Household, Movement, Resident
from residents.services import movements


def terminate_backend(pid: int) -> None:
    db = connection.settings_dict
    killer = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"],
        port=db["PORT"],
        password=db.get("PASSWORD") or None,
    )
    killer.autocommit = True
    with killer.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()


MOVE_IN = {
    "family_name": "切断",
    "given_name": "試験",
    "family_name_kana": "セツダン",
    "given_name_kana": "シケン",
    "birth_date": "1990-01-02",
    "sex": "female",
    "address": "栄町2丁目3番4号",
    "effective_on": "2025-04-01",
    "notified_on": "2025-04-02",
    "relationship": "",
    "previous_address": "",
    "mynumber": "",
}


@pytest.mark.django_db(transaction=True)
def test_connection_dropped_mid_move_in_leaves_nothing_half_written(clerk, monkeypatch):
    before = (
        Address.objects.count(),
        Household.objects.count(),
        Resident.objects.count(),
        Movement.objects.count(),
    )
    original_open_period = movements._open_period

    def die_after_resident_row(resident, start):
        # The household, address and resident rows are written by now; the connection dies
        # before the residence period and the movement are.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            terminate_backend(cursor.fetchone()[0])
        return original_open_period(resident, start)

    monkeypatch.setattr(movements, "_open_period", die_after_resident_row)
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    response = client.post("/staff/residents/move-in/", MOVE_IN)
    assert response.status_code == 500
    assert "入力された内容は保存されていません" in response.content.decode()

    connection.close()  # the test's own handle to the killed backend
    after = (
        Address.objects.count(),
        Household.objects.count(),
        Resident.objects.count(),
        Movement.objects.count(),
    )
    assert after == before
    assert not Resident.objects.filter(family_name="切断").exists()

    monkeypatch.setattr(movements, "_open_period", original_open_period)
    client.force_login(clerk)
    retry = client.post("/staff/residents/move-in/", MOVE_IN)
    assert retry.status_code in (200, 302)
    assert Resident.objects.filter(family_name="切断").count() == 1
