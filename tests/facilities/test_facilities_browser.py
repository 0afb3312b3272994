"""A resident finds a free slot on the grid, makes the most likely mistake (more people than
the room holds), confirms, and pays with the sandbox card; the booking is then paid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from factories_facilities import individual, make_facility, make_unit

from facilities.models import Booking
from factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_resident_books_a_slot_and_pays_with_the_sandbox_card(page, login_in_browser):
    facility = make_facility(name_ja="本町体育館", name_en="Honcho Gym")
    unit = make_unit(facility, name_ja="アリーナA面", capacity=30)
    person = individual()
    user = person.representative
    login_in_browser(page, user.email, PASSWORD)

    day = timezone.localdate() + timedelta(days=3)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"/facilities/?kind=gym&date={day.isoformat()}")
    grid = page.locator(f"#grid-{unit.code}")
    assert "アリーナA面" in grid.inner_text()
    # The evening of the first day shown: a free cell links to the booking form.
    grid.locator("tbody tr").nth(2).locator("td").first.locator("a").click()
    page.wait_for_url(f"**/facilities/units/{unit.code}/book/**")

    page.get_by_label("利用目的").fill("バドミントン練習")
    page.get_by_label("利用人数").fill("45")
    page.get_by_role("button", name="確認する").click()
    assert "入力内容を確認してください" in page.locator(".error-summary").inner_text()
    assert (
        "利用人数が定員（30人）を超えています" in page.locator("#id_attendees_errors").inner_text()
    )
    assert page.get_by_label("利用目的").input_value() == "バドミントン練習"
    page.get_by_label("利用人数").fill("12")
    page.get_by_role("button", name="確認する").click()

    assert page.locator("#total-fee").inner_text() == "1,800円"
    assert not Booking.objects.exists()
    page.get_by_role("button", name="予約する").click()
    page.wait_for_url("**/my/facilities/bookings/*/")
    booking = Booking.objects.get()
    assert booking.state == "held"
    assert page.locator("#booking-state").inner_text() == "仮押さえ（お支払い待ち）"

    page.get_by_role("button", name="クレジットカードで支払う").click()
    page.get_by_role("button", name="カードで支払う").click()
    page.get_by_label("カード番号").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="支払う", exact=True).click()
    page.wait_for_url(f"**/my/facilities/bookings/{booking.pk}/")
    assert page.locator("#booking-state").inner_text() == "予約確定（支払済み）"
    booking.refresh_from_db()
    assert booking.state == "paid" and booking.paid_at is not None
