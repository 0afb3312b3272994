"""The counter panel on /my/: today's congestion in one line, linked to the status page."""

from counter import services


def test_the_resident_sees_how_many_wait_and_where_to_look(resident_client, desk, service_a):
    services.issue_ticket(service=service_a)
    services.issue_ticket(service=service_a)
    body = resident_client.get("/my/").content.decode()
    summary = body.split('id="counter-congestion-summary"')[1].split("</p>")[0]
    assert "2 人が順番を待っています" in summary
    assert 'href="/counter/status/"' in body


def test_without_services_the_panel_is_not_shown(resident_client, db):
    body = resident_client.get("/my/").content.decode()
    assert 'id="counter-congestion-summary"' not in body
