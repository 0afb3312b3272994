import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from factories_counter import ResidentFactory

from cityhall.models import AuditEvent
from counter import services, views


@pytest.fixture
def resident(db):
    head = ResidentFactory(family_name="窓口", given_name="花子")
    ResidentFactory(
        family_name="窓口",
        given_name="次郎",
        household=head.household,
        relationship="子",
        is_head=False,
    )
    return head


def test_residents_are_refused_the_360_view(resident_client, resident):
    response = resident_client.get(f"/staff/counter/residents/{resident.pk}/")
    assert response.status_code == 403
    assert "花子" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="resident.view_360").exists()


def test_the_view_itself_refuses_non_staff(resident_user, resident):
    request = RequestFactory().get(f"/staff/counter/residents/{resident.pk}/")
    request.user = resident_user
    with pytest.raises(PermissionDenied):
        views.resident_360(request, resident_id=resident.pk)
    assert not AuditEvent.objects.filter(action="resident.view_360").exists()


def test_clerk_opens_the_360_view_and_the_read_is_audited(clerk_client, clerk, resident):
    response = clerk_client.get(f"/staff/counter/residents/{resident.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "窓口 花子" in body and "窓口 次郎" in body
    event = AuditEvent.objects.get(action="resident.view_360")
    assert event.actor == clerk
    assert event.purpose == "窓口対応"
    assert event.object_id == str(resident.pk)
    assert event.object_type == "residents.Resident"


def test_a_called_ticket_leads_to_the_residents_360_view(
    clerk_client, clerk, desk, service_a, resident
):
    services.issue_ticket(service=service_a)
    ticket = services.call_next(counter=desk, clerk=clerk)
    response = clerk_client.post(
        f"/staff/counter/{desk.pk}/tickets/{ticket.pk}/residents/{resident.pk}/link/"
    )
    assert response.status_code == 302
    assert response.url == f"/staff/counter/residents/{resident.pk}/"
    desk_page = clerk_client.get(f"/staff/counter/{desk.pk}/").content.decode()
    assert f"/staff/counter/residents/{resident.pk}/" in desk_page


def test_clerk_finds_a_resident_and_links_the_ticket_from_the_search(
    clerk_client, clerk, desk, service_a, resident
):
    services.issue_ticket(service=service_a)
    ticket = services.call_next(counter=desk, clerk=clerk)
    response = clerk_client.get(f"/staff/counter/residents/?q=窓口 花子&ticket={ticket.pk}")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"/staff/counter/residents/{resident.pk}/" in body
    assert f"/tickets/{ticket.pk}/residents/{resident.pk}/link/" in body
    assert "次郎" not in body
    assert AuditEvent.objects.filter(action="resident.search", purpose="窓口対応").exists()


def test_360_view_survives_empty_sections_and_offers_counter_filing(clerk_client, resident):
    from django.urls import NoReverseMatch, reverse

    body = clerk_client.get(f"/staff/counter/residents/{resident.pk}/").content.decode()
    assert "窓口の来庁記録" in body and "来庁記録はありません" in body
    try:
        filing = reverse("procedures:counter_start")
    except NoReverseMatch:
        filing = None
    if filing is not None:
        assert f"{filing}?resident={resident.pk}" in body
