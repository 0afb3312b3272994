import io

from django.urls import reverse
from factories_counter import ResidentFactory
from pypdf import PdfReader

from counter.models import Ticket


def test_kiosk_issues_a_ticket_and_the_phone_page_shows_the_place_in_line(client, service_a, desk):
    page = client.get("/counter/kiosk/")
    assert page.status_code == 200 and 'value="A"' in page.content.decode()
    first = client.post("/counter/kiosk/", {"service": "A"})
    second = client.post("/counter/kiosk/", {"service": "A"})
    tickets = list(Ticket.objects.order_by("number"))
    assert [t.label for t in tickets] == ["A-001", "A-002"]
    assert first.url == reverse("counter:ticket", args=[tickets[0].token]) + "?issued=1"
    body = client.get(second.url).content.decode()
    assert "A-002" in body and "前に 1 人" in body and "<svg" in body
    assert "前に 0 人" in client.get(first.url).content.decode()


def test_kiosk_without_a_service_issues_nothing(client, service_a):
    response = client.post("/counter/kiosk/", {"service": "Z"}, follow=True)
    assert "業務を選んでください" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_ticket_pdf_is_printable(client, service_a, desk):
    client.post("/counter/kiosk/", {"service": "A"})
    ticket = Ticket.objects.get()
    response = client.get(f"/counter/tickets/{ticket.token}/ticket.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "A-001" in text and "整理券" in text


def test_unknown_ticket_token_is_not_found(client, service_a):
    assert client.get("/counter/tickets/not-a-real-token/").status_code == 404


def test_a_signed_in_residents_ticket_is_linked_but_never_shown(
    client, resident_user, service_a, desk
):
    resident = ResidentFactory(user=resident_user, family_name="窓口", given_name="一郎")
    client.force_login(resident_user)
    response = client.post("/counter/kiosk/", {"service": "A"}, follow=True)
    assert Ticket.objects.get().resident == resident
    assert response.status_code == 200
    assert "一郎" not in response.content.decode()


def test_kiosk_issues_no_ticket_when_no_counter_for_the_service_is_open(client, service_a, desk):
    desk.active = False
    desk.save()
    page = client.get("/counter/kiosk/").content.decode()
    assert "受付時間外" in page and "disabled" in page
    response = client.post("/counter/kiosk/", {"service": "A"}, follow=True)
    assert "受付時間外です" in response.content.decode()
    assert Ticket.objects.count() == 0
