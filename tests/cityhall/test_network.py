"""The staff network rule holds on /api/ (sessions and other credentials), and
the client address comes from REMOTE_ADDR or, behind our own proxies only, from the right-most
untrusted X-Forwarded-For entry: never from a header anyone can write."""

from __future__ import annotations

import base64

import pytest
from rest_framework.authentication import BasicAuthentication, SessionAuthentication

from cityhall.models import AuditEvent
from cityhall.network import client_address
from factories import PASSWORD

OFFICE = "10.20.0.0/16"
INSIDE = "10.20.3.4"
OUTSIDE = "203.0.113.5"
PROXY = "192.0.2.10"


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        # No proxy trusted: the header is the client's own text and is ignored.
        (OUTSIDE, INSIDE, [], OUTSIDE),
        # A peer that is not our proxy cannot speak for anyone either.
        (OUTSIDE, INSIDE, ["192.0.2.0/24"], OUTSIDE),
        # Behind our proxy: the right-most entry that is not ours.
        (PROXY, f"{INSIDE}, {OUTSIDE}", ["192.0.2.0/24"], OUTSIDE),
        (PROXY, f"{OUTSIDE}, {INSIDE}", ["192.0.2.0/24"], INSIDE),
        # Two of our proxies in a row are skipped; the forged left part is never read.
        (PROXY, f"{INSIDE}, {OUTSIDE}, 192.0.2.11", ["192.0.2.0/24"], OUTSIDE),
        # A garbled entry where trust ends: no address rather than a guess.
        (PROXY, f"{INSIDE}, not-an-ip", ["192.0.2.0/24"], None),
        # Our proxy with no header (its own health check): the proxy itself.
        (PROXY, "", ["192.0.2.0/24"], PROXY),
        # IPv4 seen through an IPv6 socket.
        ("::ffff:203.0.113.5", "", [], OUTSIDE),
        (None, INSIDE, [], None),
    ],
)
def test_client_address(remote, forwarded, trusted, expected):
    assert client_address(remote, forwarded, trusted_proxies=trusted) == expected


@pytest.fixture
def office_only(settings):
    settings.STAFF_ALLOWED_NETWORKS = [OFFICE]
    settings.TRUSTED_PROXIES = []
    return settings


@pytest.mark.django_db
def test_staff_session_on_the_api_is_refused_outside_the_office(client, clerk, office_only):
    client.force_login(clerk)
    refused = client.get("/api/residents/", {"q": "山"}, REMOTE_ADDR=OUTSIDE)
    assert refused.status_code == 403
    assert "この端末からは職員として" in refused.json()["detail"]
    assert client.get("/api/residents/", {"q": "山"}, REMOTE_ADDR=INSIDE).status_code == 200
    # POSTs too: nothing happens from outside.
    assert client.post("/api/residents/1/movements/", {}, REMOTE_ADDR=OUTSIDE).status_code == 403


@pytest.mark.django_db
def test_residents_use_the_api_from_anywhere(client, resident_user, office_only):
    client.force_login(resident_user)
    assert client.get("/api/procedures/", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert client.get("/api/me/", REMOTE_ADDR=OUTSIDE).status_code == 200


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_open_the_door(client, clerk, office_only):
    client.force_login(clerk)
    forged = {"REMOTE_ADDR": OUTSIDE, "HTTP_X_FORWARDED_FOR": INSIDE}
    assert client.get("/staff/", **forged).status_code == 403
    assert client.get("/api/residents/", **forged).status_code == 403


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_real_client_decides(client, clerk, office_only):
    office_only.TRUSTED_PROXIES = ["192.0.2.0/24"]
    client.force_login(clerk)
    # The outsider prepends an office address; the proxy appends the real one.
    spoofed = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{INSIDE}, {OUTSIDE}"}
    assert client.get("/staff/", **spoofed).status_code == 403
    assert client.get("/api/residents/", **spoofed).status_code == 403
    honest = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": INSIDE}
    assert client.get("/staff/", **honest).status_code == 200
    assert client.get("/api/residents/", **honest).status_code == 200


@pytest.mark.django_db
def test_the_audit_row_carries_the_client_behind_the_proxy(client, supervisor, settings):
    from factories_residents import move_in

    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    resident = move_in()
    client.force_login(supervisor)
    response = client.get(
        f"/api/residents/{resident.pk}/",
        {"purpose": "counter"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {INSIDE}",
    )
    assert response.status_code == 200
    row = AuditEvent.objects.get(action="residents.resident_viewed", object_id=str(resident.pk))
    assert row.ip_address == INSIDE


@pytest.mark.django_db
def test_a_staff_credential_other_than_the_session_is_refused_outside(
    client, clerk, office_only, monkeypatch
):
    """A token-style credential (HTTP Basic here, through DRF's own authenticator) is checked
    by the same rule before the view runs."""
    from residents.api import ResidentViewSet

    monkeypatch.setattr(
        ResidentViewSet, "authentication_classes", [SessionAuthentication, BasicAuthentication]
    )
    token = base64.b64encode(f"{clerk.email}:{PASSWORD}".encode()).decode()
    header = {"HTTP_AUTHORIZATION": f"Basic {token}"}
    refused = client.get("/api/residents/", {"q": "山"}, REMOTE_ADDR=OUTSIDE, **header)
    assert refused.status_code == 403
    assert "この端末からは職員として" in refused.json()["detail"]
    assert (
        client.get("/api/residents/", {"q": "山"}, REMOTE_ADDR=INSIDE, **header).status_code == 200
    )
