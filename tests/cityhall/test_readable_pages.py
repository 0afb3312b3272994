"""Every staff and resident page of a small demo city reads as words.

A crawl with the test client: from the staff dashboard as an admin (who may open every staff
page) and from the portal as the demo resident, following the links each page offers, in
Japanese and in English. On each HTML page the visible text must hold no Python dict, no id
field, no True/False/None and no raw state code (tests/readable_check.py). Cases in several
states, a counter visit and the map's click fragment are made first, so histories, buttons,
bills and parcels are on the pages the crawl reaches.
"""

from __future__ import annotations

import io
import re
from collections import deque
from urllib.parse import urldefrag, urlparse

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from readable_check import leaks, visible_text

pytestmark = pytest.mark.django_db

# Not pages a person reads as text, or pages that change something when merely opened. The
# form designer's draft page is skipped because editing the form's JSON definition is its
# purpose (its preview page is crawled).
SKIPPED = re.compile(
    r"^/(api/|static/|media/|accounts/|i18n/|staff/admin/django/)"
    r"|^/staff/admin/procedures/[^/]+/draft/$"
    r"|\.(pdf|csv|ics|geojson|pbf|json|txt)$|/logout|/download|/export"
)
MAX_PAGES = 60


@pytest.fixture
def demo_city(db):
    from cityhall.seed import demo_accounts
    from cityhall.seeding import SeedContext
    from counter.seed import ensure_services_and_counters
    from gis.seed import seed_gis
    from payments.seed import demo_bills
    from procedures.seed import demo_procedures
    from residents.seed import demo_residents

    ctx = SeedContext(residents=80, parcels=600, stdout=io.StringIO())
    for step in (demo_accounts, demo_residents, seed_gis, demo_bills, demo_procedures):
        step(ctx)
    ensure_services_and_counters()
    return ctx


def _cases(resident, clerk, on_commit) -> list:
    """Applications of the demo resident in as many states as the demo procedures allow:
    drafts, awaiting payment, in review (fee paid at the counter), correction requested and
    rejected."""
    from payments import selectors as payment_selectors
    from payments import services as payment_services
    from procedures import services, workflow
    from procedures.models import Procedure

    made = []
    procedures = (
        Procedure.objects.filter(is_active=True).exclude(channels="counter").order_by("slug")
    )
    # This crawl is about what pages print, not about identity: the certificate requests (which
    # need a マイナンバーカード signature online, tests/identity) are filed here on a linked
    # account so that cases reach every state.
    procedures.update(identity_level="linked")
    for procedure in procedures:
        application = services.start_application(
            procedure=procedure, resident=resident, user=resident.user
        )
        made.append(application)
        answers = dict(application.answers, purpose="勤務先に提出")
        try:
            services.submit_application(
                application=application, actor=resident.user, answers=answers
            )
        except ValidationError:
            continue  # a form the prefill cannot complete stays a draft: a draft is a state too
    for application in made:
        application.refresh_from_db()
    paying = [a for a in made if a.state == workflow.AWAITING_PAYMENT]
    assert len(paying) >= 2, [a.state for a in made]
    for application in paying[1:]:
        charge = payment_selectors.charge_for_origin(application.origin)
        # The settled hook that moves the case on runs after commit.
        with on_commit(execute=True):
            payment_services.record_counter_payment(
                payer=resident,
                amount=application.fee_yen,
                clerk=clerk,
                installment_ids=list(charge.installments.values_list("pk", flat=True)),
            )
        application.refresh_from_db()
    in_review = [a for a in paying if a.state == workflow.IN_REVIEW]
    assert in_review, [a.state for a in paying]
    first = in_review[0]
    services.assign(application=first, clerk=clerk)
    services.decide(
        application=first, target=workflow.CORRECTION_REQUESTED, clerk=clerk, comment="写しを"
    )
    if len(in_review) > 1:
        services.decide(
            application=in_review[1], target=workflow.REJECTED, clerk=clerk, comment="対象外"
        )
    return made


def _visit(client: Client, url: str):
    response = client.get(url)
    if response.status_code >= 500:
        raise AssertionError(f"{url} answered {response.status_code}")
    content_type = response.get("Content-Type", "")
    if response.status_code != 200 or not content_type.startswith("text/html"):
        return None
    return response.content.decode()


def _crawl(client: Client, starts: list[str], *, inside: str, lang: str) -> tuple[int, list[str]]:
    seen, queue, problems = set(starts), deque(starts), []
    pages = 0
    while queue and pages < MAX_PAGES:
        url = queue.popleft()
        html = _visit(client, url)
        if html is None:
            continue
        pages += 1
        for problem in leaks(visible_text(html), lang=lang):
            problems.append(f"{url} [{lang}]: {problem}")
        for href in re.findall(r'href="([^"]+)"', html):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            parsed = urlparse(href)
            if parsed.scheme or parsed.netloc or not href.startswith(inside):
                continue
            if SKIPPED.search(parsed.path) or href in seen:
                continue
            seen.add(href)
            queue.append(href)
    return pages, problems


def _client(email: str, lang: str) -> Client:
    from cityhall.models import User

    user = User.objects.get(email=email)  # the seed set up MFA for staff accounts
    client = Client()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": lang, "next": "/"})
    return client


def test_no_staff_or_resident_page_prints_a_dict_an_id_or_a_state_code(
    demo_city, django_capture_on_commit_callbacks
):
    from cityhall.models import User
    from counter import services as counter_services
    from counter.models import Counter, Service
    from gis.models import AddressPoint
    from residents.models import Resident

    resident = Resident.objects.get(user__email="resident@demo.machiba.jp")
    clerk = User.objects.get(email="clerk@demo.machiba.jp")
    cases = _cases(resident, clerk, django_capture_on_commit_callbacks)
    service = Service.objects.get(code="A")
    desk = Counter.objects.filter(services=service).order_by("number").first()
    counter_services.issue_ticket(service=service, resident=resident)
    ticket = counter_services.call_next(counter=desk, clerk=clerk)
    if ticket is not None:
        counter_services.finish(ticket=ticket, clerk=clerk, counter=desk)
    where = AddressPoint.objects.filter(parcel_key=resident.household.address.parcel_key).first()

    staff_starts = [
        "/staff/",
        f"/staff/counter/residents/{resident.pk}/",
        f"/staff/counter/{desk.pk}/",
        *[f"/staff/cases/{case.pk}/" for case in cases],
    ]
    if where is not None:
        staff_starts.append(f"/staff/map/at/?lon={where.point.x}&lat={where.point.y}")
    portal_starts = ["/", "/my/", *[f"/my/applications/{case.pk}/" for case in cases]]
    problems = []
    for lang in ("ja", "en"):
        staff = _client("admin@demo.machiba.jp", lang)
        staff_pages, found = _crawl(staff, staff_starts, inside="/staff/", lang=lang)
        problems += found
        portal = _client("resident@demo.machiba.jp", lang)
        portal_pages, found = _crawl(portal, portal_starts, inside="/", lang=lang)
        problems += found
        # The crawl really went round: dozens of pages on each side.
        assert staff_pages >= 25 and portal_pages >= 15, (lang, staff_pages, portal_pages)
    assert not problems, "\n".join(problems)
