"""In English, the main resident pages hold no Japanese but names and addresses;
messages come one language at a time, and notifications go out in the resident's language."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from factories_payments import make_charge
from factories_procedures import make_household, make_procedure, make_resident

from procedures import services
from procedures.models import Application

pytestmark = pytest.mark.django_db

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")


class _Text(HTMLParser):
    """What a person reads: text and the attributes read aloud, without scripts and without
    elements marked lang="ja" (the switch back to 日本語)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.skip or tag in ("script", "style") or attrs.get("lang") == "ja":
            if tag not in ("br", "img", "input", "meta", "link", "hr"):
                self.skip.append(tag)
            return
        for name in ("alt", "aria-label", "placeholder", "title"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def japanese_left(html: str, allowed: list[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = "\n".join(parser.parts)
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, " ")
    return JAPANESE.findall(text)


@pytest.fixture
def english_resident(client, resident_user):
    household = make_household()
    resident = make_resident(household=household, user=resident_user)
    spouse = make_resident(
        household=household,
        given_name="花子",
        given_name_kana="ハナコ",
        sex="female",
        relationship="妻",
    )
    child = make_resident(
        household=household, given_name="一郎", given_name_kana="イチロウ", relationship="長男"
    )
    client.force_login(resident_user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.get("/")
    allowed = []
    for person in (resident, spouse, child):
        allowed += [person.full_name, person.full_name_kana, person.family_name, person.given_name]
    address = household.address
    allowed += [address.label, address.town]
    return resident, allowed


def test_main_resident_pages_hold_no_japanese_but_names_and_addresses(
    client, english_resident, clerk
):
    resident, allowed = english_resident
    procedure = make_procedure(
        slug="juminhyo", certificate_kind="residence", fee_yen=300, life_events=["moving"]
    )
    make_charge(resident, parts=[(date(2030, 6, 28), 12_000)])
    draft = services.start_application(procedure=procedure, resident=resident, user=resident.user)
    submitted = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=submitted,
        actor=resident.user,
        answers={"purpose": "For my employer", "include": ["relationship"]},
    )
    pages = [
        "/",
        "/my/",
        "/procedures/",
        "/procedures/?q=residence",
        "/procedures/life/moving/",
        f"/procedures/{procedure.slug}/",
        "/my/applications/",
        f"/my/applications/{draft.pk}/edit/",
        f"/my/applications/{submitted.pk}/",
        "/my/statement/",
        "/my/info/",
        "/inbox/",
    ]
    left = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert 'lang="en"' in page
        left[url] = japanese_left(page, allowed)
    assert {url: words for url, words in left.items() if words} == {}
    # A form with one wrong answer: the message is English only.
    response = client.post(
        f"/my/applications/{draft.pk}/edit/",
        {"name": resident.full_name, "address": "x", "purpose": "", "check": "1"},
    )
    assert response.status_code == 400
    assert "Enter “Purpose”" in response.content.decode()
    assert japanese_left(response.content.decode(), allowed) == []


def _notices_after_events(user) -> list:
    """Status changes reach the resident through notices (cityhall.events): handle the events
    the commit queued, as the worker would, and read the resident's notices inbox."""
    from notices import events, selectors
    from notices.models import EventRecord

    for record in EventRecord.objects.filter(handled_at__isnull=True).order_by("id"):
        events.handle(record.pk)
    return [item["message"] for item in selectors.inbox_items(user)]


def test_notifications_go_out_in_the_residents_language(
    client, english_resident, clerk, django_capture_on_commit_callbacks, settings
):
    resident, _allowed = english_resident
    client.get("/my/")  # the portal remembers that this resident reads English
    resident.user.refresh_from_db()
    assert resident.user.language == "en"
    procedure = make_procedure(slug="juminhyo", certificate_kind="residence")
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application,
        actor=resident.user,
        answers={"purpose": "For my employer", "members": [str(resident.pk)]},
    )
    application = Application.objects.get(pk=application.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide(
            application=application,
            target="correction_requested",
            clerk=clerk,
            comment="Please write the purpose in full.",
        )
    messages = _notices_after_events(resident.user)
    assert messages, "the status change reached no inbox"
    newest = messages[0]
    assert newest.subject.startswith("Your application is now")
    assert "Certificate of residence" in newest.subject + newest.html
    assert not JAPANESE.search(newest.subject)


def test_a_japanese_reader_gets_japanese_notifications(
    resident_user, clerk, django_capture_on_commit_callbacks
):
    household = make_household()
    resident = make_resident(household=household, user=resident_user)
    procedure = make_procedure(slug="juminhyo-ja", certificate_kind="residence")
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    application = services.submit_application(
        application=application,
        actor=resident.user,
        answers={"purpose": "勤務先に提出", "members": [str(resident.pk)]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decide(
            application=Application.objects.get(pk=application.pk),
            target="correction_requested",
            clerk=clerk,
            comment="目的を詳しく書いてください。",
        )
    messages = _notices_after_events(resident_user)
    assert messages, "the status change reached no inbox"
    assert messages[0].subject.startswith("申請の状況が変わりました")
    assert "住民票の写しの交付請求" in messages[0].html
    assert "Your application" not in messages[0].subject + messages[0].html
