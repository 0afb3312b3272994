"""The access-control matrix: every URL pattern × every kind of caller.

Every URL pattern of the URLconf (walked recursively from ``get_resolver()``, DRF router routes
under /api/ included) is requested as each caller below, with the URL's object arguments naming
resident B's objects, and the outcome is compared with the decision written in ``ACCESS``:

- ``anonymous``     nobody signed in;
- ``resident_a``    a resident with their own record, acting on resident B's objects;
- ``clerk_no_mfa``  a clerk who has not set up MFA yet;
- ``clerk``, ``supervisor``, ``admin`` (staff, all with TOTP MFA; each only a member of its
  group, the admin too: not a superuser, so a permission missing from a group shows up here);
- ``resident_b``    the owner of the objects. Not an access question: a sanity column proving
  that the URL arguments really name a working object, so that the "denied" of everyone else
  is not a 404 for a broken fixture.

allowed = anything but 401/403/404 or a redirect to the sign-in or MFA-setup page (a 405 on a
GET of a POST-only view counts as allowed by the access rules: the method is wrong, the door is
not shut). denied = 401/403/404 or a redirect to sign-in/MFA setup. A 5xx fails the test.
For a POST-only view, an empty POST decides; its GET must then be the same outcome or a 405.

A URL pattern without an entry in ``ACCESS`` fails (so a new URL needs an access decision), and
so does an entry whose URL is gone.

Besides status codes, two leaks are looked for in allowed responses: resident B's name or
e-mail must not reach anonymous or resident A (unless the entry is a capability URL that shows
its holder's data by design), and the staff-only GIS layer's data must not reach anyone who is
not staff with MFA.

And the audit rule: every staff read of personal data writes exactly one
audit row, with the reader, a purpose and the client's address. A staff GET that was allowed and
whose body shows resident B's name or e-mail, or whose URL is listed in
``PERSONAL_DATA_DOCUMENTS`` (files whose text the check cannot read), must have written one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cityhall.models import AuditEvent
from factories import TOTP_SECRET, UserFactory

# --- the URLs this matrix does not cover, and why ----------------------------------------------

EXCLUDED_PREFIXES: dict[str, str] = {
    "staff/admin/django/": (
        "Django's own admin: hundreds of generated model URLs guarded by django.contrib.admin "
        "(is_staff) behind the /staff/ door; tested by Django, not ours to enumerate"
    ),
    "accounts/": (
        "django-allauth's sign-in, sign-up, password and MFA pages: open by design (they are the "
        "way in); tests/cityhall/test_login_throttle.py and test_staff_door.py cover them"
    ),
    "static/": "static files, served by Django only with DEBUG: public assets, no data",
    "i18n/setlang/": "Django's set_language: a public language switch, no data",
    "api/docs/": (
        "the API description (Swagger UI): deliberately open, also to staff without MFA "
        "(cityhall/middleware.py API_OPEN_TO_STAFF_WITHOUT_MFA); tests/cityhall/test_api_schema.py"
    ),
    "api/schema/": "the OpenAPI schema: same as api/docs/",
}
# Whole routes (not prefixes) left out, and why.
EXCLUDED_ROUTES: dict[str, str] = {
    "api/": (
        "the API's last route: every /api/ URL no other route matched gets a JSON 404, for "
        "everyone alike (there is nothing behind it to guard); tests/hardening/test_api_contract.py"
    ),
}

# Responses that carry personal data where the text check cannot see it (PDFs, files): a staff
# read of them must write its audit row all the same.
PERSONAL_DATA_DOCUMENTS: dict[str, str] = {
    "resident-history": "the movements of B's record (addresses, dates)",
    "payments_statement": "B's open installments (?resident=B)",
    "payments_installments": "B's installments (?resident=B)",
    "payment-list": "B's payments (?resident=B)",
    "payment-detail": "one of B's payments (?resident=B)",
    "application-events": "the case history of B's application, the clerks' comments included",
    "procedures:case_attachment": "the applicant's uploaded file (an identity document)",
    "procedures:case_certificate": "the certificate PDF: names, address, birth dates",
    "payments:staff_receipt": "the receipt PDF names the payer",
    "payments:staff_notice": "the demand notice PDF names and addresses the payer",
    "payments:staff_batch_output": "a direct-debit file: account holders' names and accounts",
}

# --- callers and rules -------------------------------------------------------------------------

# Staff searches are made for resident B, so the audit rule sees a search that shows B.
B_FAMILY_NAME_Q = "%E4%B9%99%E5%8E%9F"  # 乙原, URL-encoded

ANONYMOUS = "anonymous"
RESIDENT_A = "resident_a"
CLERK_NO_MFA = "clerk_no_mfa"
CLERK = "clerk"
SUPERVISOR = "supervisor"
ADMIN = "admin"
RESIDENT_B = "resident_b"
ROLES = (ANONYMOUS, RESIDENT_A, CLERK_NO_MFA, CLERK, SUPERVISOR, ADMIN, RESIDENT_B)

SIGNED_IN = frozenset({RESIDENT_A, CLERK_NO_MFA, CLERK, SUPERVISOR, ADMIN, RESIDENT_B})
STAFF_WITH_MFA = frozenset({CLERK, SUPERVISOR, ADMIN})


@dataclass(frozen=True)
class Rule:
    name: str
    allowed: frozenset[str]


# Anyone, signed in or not.
PUBLIC = Rule("public", SIGNED_IN | {ANONYMOUS})
# Any signed-in account; what it sees is its own (a staff account without a resident record
# gets an empty page or is sent to the page that links a record).
LOGIN = Rule("login", SIGNED_IN)
# Signed-in residents with a record (own data only); accounts without a record get 404.
LINKED = Rule("linked", frozenset({RESIDENT_A, RESIDENT_B}))
# Only the owner of the object in the URL: resident A gets 404/403 on B's object, and so does
# staff using a portal /my/ URL with B's object.
OWNER = Rule("owner", frozenset({RESIDENT_B}))
# The owner, and staff (with MFA) whose view deliberately serves any resident's object.
OWNER_OR_STAFF = Rule("owner or staff", frozenset({RESIDENT_B}) | STAFF_WITH_MFA)
# Clerks, supervisors and admins, each with MFA.
STAFF = Rule("staff", STAFF_WITH_MFA)
SUPERVISOR_ONLY = Rule("supervisor", frozenset({SUPERVISOR, ADMIN}))
# The people who work resident records: clerks and supervisors. The admin role reads records but
# does not register movements (least privilege: it runs the system, not the counter).
CASEWORK = Rule("clerk or supervisor", frozenset({CLERK, SUPERVISOR}))
# Revealing My Number (residents.reveal_mynumber): supervisors only, not the admin role.
MYNUMBER_REVEALERS = Rule("reveal_mynumber", frozenset({SUPERVISOR}))
ADMIN_ONLY = Rule("admin", frozenset({ADMIN}))
# No session opens it: a provider's signature header is the credential (401 without it).
SIGNED_ONLY = Rule("signed by the provider", frozenset())

# The staff door (cityhall/middleware.py): a staff account without MFA is sent to MFA setup on
# /staff/ and refused (403) on /api/, except on who-am-I. Restated here on purpose, so a change
# of the middleware is a change this test notices.
API_OPEN_TO_STAFF_WITHOUT_MFA = ("/api/me/",)


@dataclass(frozen=True)
class Access:
    rule: Rule
    # The URL's arguments from the world of objects (B's objects), and a query string.
    kwargs: Any = None  # callable(world) -> dict
    query: Any = ""  # str or callable(world) -> str
    post_only: bool = False
    # The body of that POST (empty unless the view needs something to get past a 404 of its
    # own, which would read as a refusal).
    data: Any = None  # callable(world) -> dict
    # An HTML page: anonymous denial must be a redirect to sign-in (else 401/403/404 will do).
    page: bool = True
    # A capability URL (secret token or code in the URL) that shows its holder's data by
    # design: B's name may appear to whoever holds the token.
    shows_owner_data: bool = False
    # Deliberate differences from the rule, role -> allowed; each is explained where used.
    overrides: dict[str, bool] = field(default_factory=dict)
    case: str = ""


def one(rule: Rule, **options) -> tuple[Access, ...]:
    return (Access(rule, **options),)


def w(attribute: str, key: str = "pk"):
    """kwargs builder: {key: world.<attribute>} (attribute may be dotted)."""

    def build(world):
        value = world
        for part in attribute.split("."):
            value = getattr(value, part)
        return {key: value}

    return build


# --- the table: URL name -> access decision ----------------------------------------------------

ACCESS: dict[str, tuple[Access, ...]] = {
    # cityhall
    "home": one(PUBLIC),
    # The full check also wants a worker heartbeat (none runs here): the database part decides.
    "health": one(PUBLIC, page=False, query="part=database"),
    "live": one(PUBLIC, page=False),
    "favicon": one(PUBLIC, page=False),
    # Not a role question: the caller's network decides (staff networks, else loopback; the
    # test client is 127.0.0.1). tests/ops/test_observability.py refuses other networks.
    "metrics": one(PUBLIC, page=False),
    "my_dashboard": one(LOGIN),
    "inbox": one(LOGIN),
    "inbox_mark_read": one(OWNER, kwargs=w("notification.pk"), post_only=True),
    "staff_dashboard": one(STAFF),
    # who am I: the one API URL open to staff without MFA (so they can find out they need it)
    "api_me": one(LOGIN),
    # residents: clerk pages
    "residents:staff_search": one(STAFF, query=f"q={B_FAMILY_NAME_Q}"),
    "residents:staff_move_in": one(CASEWORK),
    "residents:staff_detail": one(STAFF, kwargs=w("b.pk")),
    # revealing My Number needs residents.reveal_mynumber: supervisors
    "residents:staff_reveal_mynumber": one(MYNUMBER_REVEALERS, kwargs=w("b.pk"), post_only=True),
    "residents:staff_move_out": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_relocation": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_birth": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_death": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_change_head": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_correct": one(CASEWORK, kwargs=w("b.pk")),
    "residents:staff_issue_activation": one(CASEWORK, kwargs=w("b.pk"), post_only=True),
    # residents: portal (staff without a record see the link page / are sent to it)
    "residents:my_link": one(LOGIN),
    "residents:my_info": one(LOGIN),
    # residents: API
    "resident-list": one(STAFF, query=f"q={B_FAMILY_NAME_Q}"),
    "resident-me": one(LINKED),
    "resident-detail": one(OWNER_OR_STAFF, kwargs=w("b.pk"), query="purpose=counter"),
    "resident-history": one(STAFF, kwargs=w("b.pk")),
    "resident-movements": one(CASEWORK, kwargs=w("b.pk"), post_only=True),
    # gis: public pages, tiles and GeoJSON
    "gis:map": one(PUBLIC),
    "gis:garbage": one(PUBLIC),
    "gis:garbage_ics": one(PUBLIC, kwargs=w("district.code", "code"), page=False),
    "gis:tile": (
        Access(
            PUBLIC,
            case="public-layer",
            kwargs=lambda world: {"slug": world.public_layer.slug, "z": 0, "x": 0, "y": 0},
            page=False,
        ),
        # Staff-only layers (parcels, pipes) are staff data: staff with MFA only.
        Access(
            STAFF,
            case="staff-layer",
            kwargs=lambda world: {"slug": world.staff_layer.slug, "z": 0, "x": 0, "y": 0},
            page=False,
        ),
    ),
    "gis:layer_geojson": (
        Access(PUBLIC, case="public-layer", kwargs=w("public_layer.slug", "slug"), page=False),
        Access(STAFF, case="staff-layer", kwargs=w("staff_layer.slug", "slug"), page=False),
    ),
    # gis: staff pages
    "gis:staff_map": one(STAFF),
    "gis:staff_map_at": one(STAFF, query="lon=139.5005&lat=35.7005"),
    "gis:staff_layers": one(STAFF),
    "gis:staff_layer_export": one(STAFF, kwargs=w("staff_layer.slug", "slug"), page=False),
    "gis:staff_unresolved": one(STAFF),
    # gis: API (AllowAny, but the staff door still refuses staff without MFA on /api/)
    "gis_api:layers": one(PUBLIC),
    "gis_api:features": (
        Access(PUBLIC, case="public-layer", kwargs=w("public_layer.slug", "slug")),
        Access(STAFF, case="staff-layer", kwargs=w("staff_layer.slug", "slug")),
    ),
    "gis_api:point": one(PUBLIC, query="lon=139.5005&lat=35.7005"),
    "gis_api:geocode": one(PUBLIC, query="address=本町1丁目1番1号"),
    # payments: the resident's statement and payments
    "payments:statement": one(LOGIN),
    "payments:pay_selected": one(LINKED, post_only=True),
    "payments:statement_pdf_request": one(LINKED, post_only=True),
    "payments:statement_pdf": one(OWNER, kwargs=w("statement_document.pk")),
    "payments:debit_account": one(LINKED),
    "payments:pay_charge": one(OWNER, kwargs=w("charge.pk", "charge_id")),
    # ?payment=<B's payment>: A is sent back to the statement without learning anything of it
    "payments:payment_return": one(LINKED, query=lambda world: f"payment={world.payment.pk}"),
    # The sandbox provider's checkout page: whoever holds the unguessable token (the payer's
    # browser) may pay; it stands in for the provider's own site.
    "payments_sandbox:checkout": one(PUBLIC, kwargs=w("sandbox_token", "token")),
    # payments: staff pages
    "payments:staff_arrears": one(STAFF),
    "payments:staff_resident": one(STAFF, kwargs=w("b.pk", "resident_id")),
    "payments:staff_receipt": one(STAFF, kwargs=w("payment.pk", "payment_id"), page=False),
    "payments:staff_notice": one(STAFF, kwargs=w("notice.pk", "notice_id"), page=False),
    "payments:staff_reconciliation": one(STAFF),
    "payments:staff_batches": one(STAFF),
    "payments:staff_batch": one(STAFF, kwargs=w("batch_run.pk")),
    "payments:staff_batch_output": one(STAFF, kwargs=w("batch_run.pk"), page=False),
    # Money pages: correct, 充当 and refund ask for the clerks' permissions; settling a payment
    # held for review is for supervisors (payments.review_payment).
    "payments:staff_correct_charge": one(STAFF, kwargs=w("charge.pk", "charge_id")),
    "payments:staff_apply_credit": one(STAFF, kwargs=w("credit.pk", "credit_id")),
    "payments:staff_refund_credit": one(STAFF, kwargs=w("credit.pk", "credit_id")),
    "payments:staff_approvals": one(STAFF),
    "payments:staff_approval": one(STAFF, kwargs=w("approval.pk")),
    "payments:staff_payment_review": one(
        SUPERVISOR_ONLY, kwargs=w("review_payment.pk", "payment_id")
    ),
    # Running a failed batch again needs payments.change_batchrun (supervisors, admins).
    "payments:staff_batch_retry": one(SUPERVISOR_ONLY, kwargs=w("batch_run.pk"), post_only=True),
    # payments: API. ?resident=<B> is honoured for staff only; a resident gets their own rows
    # (the leak check proves B's do not come back).
    "payments_statement": one(LOGIN, query=lambda world: f"resident={world.b.pk}"),
    "payments_installments": one(LOGIN, query=lambda world: f"resident={world.b.pk}"),
    "payments_reconciliation": one(STAFF),
    # Providers' webhooks: no session, the HMAC signature is the access check (an unsigned POST
    # is 401 whoever sends it).
    "payments_webhook": one(
        SIGNED_ONLY, kwargs=lambda world: {"provider": "sandbox"}, post_only=True
    ),
    "payment-list": one(LOGIN, query=lambda world: f"resident={world.b.pk}"),
    "payment-detail": one(
        OWNER_OR_STAFF, kwargs=w("payment.pk"), query=lambda world: f"resident={world.b.pk}"
    ),
    "allocation-list": one(STAFF),
    "allocation-detail": one(STAFF, kwargs=w("allocation.pk")),
    "batchrun-list": one(STAFF),
    "batchrun-detail": one(STAFF, kwargs=w("batch_run.pk")),
    "batchrun-retry": one(SUPERVISOR_ONLY, kwargs=w("batch_run.pk"), post_only=True),
    # procedures: catalogue (public)
    "procedures:catalogue": one(PUBLIC),
    "procedures:life_event": one(PUBLIC, kwargs=lambda world: {"event": "moving"}),
    "procedures:procedure_detail": one(PUBLIC, kwargs=w("procedure.slug", "slug")),
    # Starting an application: any signed-in account; one without a resident record is sent
    # back to the procedure page with a message.
    "procedures:start": one(LOGIN, kwargs=w("procedure.slug", "slug"), post_only=True),
    # procedures: the applicant's own application
    "procedures:my_applications": one(LOGIN),
    "procedures:application_detail": one(OWNER, kwargs=w("application.pk")),
    "procedures:application_edit": one(OWNER, kwargs=w("application.pk")),
    "procedures:application_confirm": one(OWNER, kwargs=w("application.pk")),
    "payments:statement_documents": one(LINKED),
    "procedures:application_withdraw": one(OWNER, kwargs=w("application.pk")),
    "procedures:certificate_status": one(OWNER, kwargs=w("application.pk")),
    "procedures:attachment_upload": one(OWNER, kwargs=w("application.pk"), post_only=True),
    "procedures:attachment_download": one(
        OWNER,
        kwargs=lambda world: {"pk": world.application.pk, "attachment_id": world.attachment.pk},
    ),
    "procedures:attachment_delete": one(
        OWNER,
        kwargs=lambda world: {"pk": world.application.pk, "attachment_id": world.attachment.pk},
        post_only=True,
    ),
    "procedures:certificate_download": one(OWNER, kwargs=w("application.pk")),
    # The signing step of a JPKI procedure (B's application is past it: B is sent to its page).
    "procedures:application_sign": one(OWNER, kwargs=w("application.pk")),
    # How else to get a certificate without signing: public information.
    "procedures:other_ways": one(PUBLIC, kwargs=w("procedure.slug", "slug")),
    # The platform's redirect after signing, and the page linking by card: for the signed-in
    # account itself (an unknown flow is refused with a page; no card facts send to /my/link/).
    "identity:sign_callback": one(LOGIN),
    "identity:card_link": one(LOGIN),
    # Certificate verification: public; the code printed on the certificate shows whom it
    # certifies (names only) to whoever holds the paper.
    "procedures:verify_lookup": one(PUBLIC),
    "procedures:verify": one(
        PUBLIC, kwargs=w("certificate.verification_code", "code"), shows_owner_data=True
    ),
    # procedures: staff
    "procedures:case_queue": one(STAFF),
    "procedures:case_detail": one(STAFF, kwargs=w("application.pk")),
    "procedures:case_attachment": one(
        STAFF,
        kwargs=lambda world: {"pk": world.application.pk, "attachment_id": world.attachment.pk},
        page=False,
    ),
    "procedures:case_certificate": one(
        STAFF, kwargs=w("application.pk"), query="purpose=counter", page=False
    ),
    "procedures:counter_start": one(STAFF),
    "procedures:counter_certificate": one(STAFF, kwargs=w("b.pk", "resident_id")),
    "procedures:counter_edit": one(STAFF, kwargs=w("counter_application.pk")),
    "procedures:counter_confirm": one(STAFF, kwargs=w("counter_application.pk")),
    # procedures: form administration (the admin role only)
    "procedures:admin_procedures": one(ADMIN_ONLY),
    "procedures:admin_procedure": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:admin_draft_edit": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:admin_form_preview": one(ADMIN_ONLY, kwargs=w("draft_form.pk")),
    "procedures:admin_form_publish": one(ADMIN_ONLY, kwargs=w("draft_form.pk"), post_only=True),
    "procedures:admin_identity_level": one(
        ADMIN_ONLY, kwargs=w("procedure.slug", "slug"), post_only=True
    ),
    # procedures: the form designer (the admin role only, publishing also needs the
    # publish permission, which only the admin role holds)
    "procedures:designer_procedure_new": one(ADMIN_ONLY),
    "procedures:designer_settings": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:designer_questions": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:designer_question_add": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:designer_question": one(
        ADMIN_ONLY, kwargs=lambda world: {"slug": world.procedure.slug, "fid": "id_doc"}
    ),
    "procedures:designer_question_delete": one(
        ADMIN_ONLY, kwargs=lambda world: {"slug": world.procedure.slug, "fid": "id_doc"}
    ),
    "procedures:designer_question_move": one(
        ADMIN_ONLY,
        kwargs=lambda world: {"slug": world.procedure.slug, "fid": "id_doc"},
        post_only=True,
    ),
    "procedures:designer_question_break": one(
        ADMIN_ONLY,
        kwargs=lambda world: {"slug": world.procedure.slug, "fid": "id_doc"},
        post_only=True,
    ),
    "procedures:designer_reorder": one(
        ADMIN_ONLY, kwargs=w("procedure.slug", "slug"), post_only=True
    ),
    "procedures:designer_page_add": one(
        ADMIN_ONLY, kwargs=w("procedure.slug", "slug"), post_only=True
    ),
    "procedures:designer_page": one(
        ADMIN_ONLY, kwargs=lambda world: {"slug": world.procedure.slug, "page_id": "p1"}
    ),
    "procedures:designer_page_join": one(
        ADMIN_ONLY,
        kwargs=lambda world: {"slug": world.procedure.slug, "page_id": "p1"},
        post_only=True,
    ),
    "procedures:designer_certificate_fields": one(
        ADMIN_ONLY, kwargs=w("procedure.slug", "slug"), post_only=True
    ),
    "procedures:designer_versions": one(ADMIN_ONLY, kwargs=w("procedure.slug", "slug")),
    "procedures:designer_compare": one(
        ADMIN_ONLY, kwargs=w("procedure.slug", "slug"), query="a=1&b=2"
    ),
    "procedures:designer_version": one(ADMIN_ONLY, kwargs=w("draft_form.pk")),
    "procedures:designer_preview_frame": one(ADMIN_ONLY, kwargs=w("draft_form.pk")),
    "procedures:designer_unschedule": one(ADMIN_ONLY, kwargs=w("draft_form.pk"), post_only=True),
    "procedures:designer_export": one(ADMIN_ONLY, kwargs=w("draft_form.pk"), page=False),
    # procedures: API
    "procedure-list": one(PUBLIC),
    "procedure-detail": one(PUBLIC, kwargs=w("procedure.slug", "slug")),
    "formdefinition-list": one(LOGIN),
    "formdefinition-detail": (
        Access(LOGIN, case="published", kwargs=w("published_form.pk")),
        # an unpublished draft exists only for admins
        Access(ADMIN_ONLY, case="draft", kwargs=w("draft_form.pk")),
    ),
    # a second admin publishes (the world's admin saved the draft: four eyes would refuse, so
    # the body carries a date that is not one, which only a publisher gets to hear about: 400)
    "formdefinition-publish": one(
        ADMIN_ONLY,
        kwargs=w("draft_form.pk"),
        post_only=True,
        page=False,
        data=lambda world: {"publish_on": "not-a-date"},
    ),
    "application-list": one(LOGIN),
    "application-detail": one(OWNER_OR_STAFF, kwargs=w("application.pk")),
    # the post office's list of towns by postal code (address questions)
    "postal-code-detail": one(PUBLIC, kwargs=lambda world: {"code": "1900011"}, page=False),
    "application-answers": one(OWNER_OR_STAFF, kwargs=w("application.pk"), post_only=True),
    "application-events": one(OWNER_OR_STAFF, kwargs=w("application.pk")),
    "application-transitions": one(OWNER_OR_STAFF, kwargs=w("application.pk"), post_only=True),
    # taxes: the resident's declaration (its case is B's application) and notices
    "taxes:my_tax": one(LOGIN),
    # Starting: any signed-in account; outside the period, or without a record, it is sent
    # back to /my/tax/ with a message.
    "taxes:declaration_start": one(LOGIN, post_only=True),
    "taxes:declaration_topic": one(
        OWNER, kwargs=lambda world: {"pk": world.declaration.pk, "topic": "income"}
    ),
    "taxes:declaration_estimate": one(
        OWNER,
        kwargs=lambda world: {"pk": world.declaration.pk, "topic": "income"},
        post_only=True,
    ),
    "taxes:declaration_attachments": one(OWNER, kwargs=w("declaration.pk")),
    "taxes:declaration_attachment_delete": one(
        OWNER,
        kwargs=lambda world: {
            "pk": world.declaration.pk,
            "attachment_id": world.declaration_attachment.pk,
        },
        post_only=True,
    ),
    "taxes:declaration_confirm": one(OWNER, kwargs=w("declaration.pk")),
    "taxes:declaration_done": one(OWNER, kwargs=w("declaration.pk")),
    "taxes:notice_pdf": one(OWNER, kwargs=w("assessment.pk")),
    # the simulation: anyone, nothing stored
    "taxes:simulate": one(PUBLIC),
    "taxes:simulate_estimate": one(PUBLIC, post_only=True, page=False),
    # taxes: staff (starting a run on the runs page is the supervisors'; the page is staff's)
    "taxes:staff_assessments": one(STAFF),
    "taxes:staff_resident": one(STAFF, kwargs=w("b.pk", "resident_id")),
    "taxes:staff_stop_special": one(
        STAFF,
        kwargs=lambda world: {"resident_id": world.b.pk, "fiscal_year": 2025},
        post_only=True,
    ),
    "taxes:staff_declaration": one(STAFF, kwargs=w("declaration.pk")),
    "taxes:staff_correct": one(
        STAFF, kwargs=lambda world: {"pk": world.declaration.pk, "topic": "income"}
    ),
    "taxes:staff_notice_pdf": one(STAFF, kwargs=w("assessment.pk"), page=False),
    "taxes:staff_runs": one(STAFF),
    "taxes:staff_run": one(STAFF, kwargs=w("assessment_run.pk")),
    "taxes:staff_salary_reports": one(STAFF),
    "taxes:staff_employers": one(STAFF),
    "taxes:staff_employer_notice": one(
        STAFF, kwargs=w("employer.pk"), query="fiscal_year=2025", page=False
    ),
    "taxes:staff_statistics": one(STAFF),
    # taxes: API (the simulation is open; an empty body is a 400, not a refusal)
    "taxes_api_simulate": one(PUBLIC, post_only=True, page=False),
    "taxes_api_my_assessments": one(LOGIN, page=False),
    "taxes_api_assessments": one(STAFF, query=lambda world: f"resident={world.b.pk}"),
    "taxes_api_run": one(STAFF, kwargs=w("assessment_run.pk")),
    # Signing is the applicant's own act: staff may read B's application but not sign it.
    "application-signing": one(OWNER, kwargs=w("application.pk"), post_only=True, page=False),
    # counter: public kiosk, the holder's ticket page (capability token) and congestion
    "counter:kiosk": one(PUBLIC),
    "counter:ticket": one(PUBLIC, kwargs=w("ticket.token", "token")),
    "counter:ticket_pdf": one(PUBLIC, kwargs=w("ticket.token", "token"), page=False),
    "counter:status": one(PUBLIC),
    "counter:congestion_fragment": one(PUBLIC),
    "counter:display": one(PUBLIC),
    # counter: staff
    "counter:desk_pick": one(STAFF),
    # statistics need counter.view_counter_stats: supervisors and admins
    "counter:stats": one(SUPERVISOR_ONLY),
    "counter:stats_csv": one(SUPERVISOR_ONLY, page=False),
    "counter:resident_search": one(STAFF, query=f"q={B_FAMILY_NAME_Q}"),
    "counter:resident_360": one(STAFF, kwargs=w("b.pk", "resident_id")),
    "counter:desk": one(STAFF, kwargs=w("desk.pk", "counter_id")),
    "counter:desk_waiting": one(STAFF, kwargs=w("desk.pk", "counter_id")),
    "counter:link_resident": one(
        STAFF,
        kwargs=lambda world: {
            "counter_id": world.desk.pk,
            "ticket_id": world.ticket.pk,
            "resident_id": world.b.pk,
        },
        post_only=True,
    ),
    "counter:desk_action": one(
        STAFF,
        kwargs=lambda world: {"counter_id": world.desk.pk, "action": "call-next"},
        post_only=True,
    ),
    # counter: API
    "counter_api_status": one(PUBLIC),
    "counter_api_call_next": one(STAFF, kwargs=w("desk.pk", "counter_id"), post_only=True),
    "counter_api_transfer": one(
        STAFF,
        kwargs=w("ticket.pk", "ticket_id"),
        post_only=True,
        # an unknown service is a 404 of the view's own
        data=lambda world: {"service": "M"},
    ),
    "counter_api_ticket_action": one(
        STAFF,
        kwargs=lambda world: {"ticket_id": world.ticket.pk, "action": "start"},
        post_only=True,
    ),
    # facilities: public pages and files (the lottery files name no person)
    "facilities:search": one(PUBLIC),
    "facilities:facility": one(PUBLIC, kwargs=w("fac.facility.code", "code")),
    "facilities:photo": one(PUBLIC, kwargs=w("fac.photo.pk"), page=False),
    "facilities:rounds": one(PUBLIC),
    "facilities:round": one(PUBLIC, kwargs=w("fac.published_round.code", "code")),
    "facilities:round_entries": one(
        PUBLIC, kwargs=w("fac.published_round.code", "code"), page=False
    ),
    "facilities:round_results": one(
        PUBLIC, kwargs=w("fac.published_round.code", "code"), page=False
    ),
    "facilities:round_verify": one(PUBLIC, kwargs=w("fac.published_round.code", "code")),
    "facilities:draw_script": one(PUBLIC, page=False),
    # A calendar app's subscription: the signed token in the URL is the key (B's bookings).
    "facilities:ical_feed": one(
        PUBLIC, kwargs=w("fac.ical_token", "token"), page=False, shows_owner_data=True
    ),
    # facilities: any signed-in account (one without a registration is sent to register)
    "facilities:book": one(
        LOGIN,
        kwargs=w("fac.unit.code", "code"),
        query=lambda world: "start=" + world.fac.free_start.replace("+", "%2B"),
    ),
    "facilities:enter": one(LOGIN, kwargs=w("fac.open_round.code", "code")),
    "facilities:my_bookings": one(LOGIN),
    "facilities:my_calendar": one(LOGIN, page=True),
    "facilities:registrations": one(LOGIN),
    "facilities:group_new": one(LOGIN),
    "facilities:series_new": one(LOGIN),
    # facilities: B's own bookings, series and entries
    "facilities:series": one(OWNER, kwargs=w("fac.series.pk")),
    "facilities:booking": one(OWNER, kwargs=w("fac.booking.pk")),
    "facilities:booking_cancel": one(OWNER, kwargs=w("fac.booking.pk")),
    "facilities:booking_pay": one(OWNER, kwargs=w("fac.booking.pk"), post_only=True),
    "facilities:booking_pay_later": one(OWNER, kwargs=w("fac.booking.pk"), post_only=True),
    "facilities:confirm_win": one(OWNER, kwargs=w("fac.booking.pk"), post_only=True),
    "facilities:entry_withdraw": one(OWNER, kwargs=w("fac.entry.pk"), post_only=True),
    # facilities: staff
    "facilities:staff_home": one(STAFF),
    "facilities:staff_week": one(STAFF, kwargs=w("fac.facility.code", "code")),
    "facilities:staff_block": one(STAFF, kwargs=w("fac.facility.code", "code")),
    "facilities:staff_checkin": one(STAFF, kwargs=w("fac.facility.code", "code")),
    "facilities:staff_registrations": one(STAFF),
    "facilities:staff_registration": one(STAFF, kwargs=w("fac.group.pk")),
    "facilities:staff_booking": one(STAFF, kwargs=w("fac.booking.pk")),
    "facilities:staff_booking_action": one(
        STAFF,
        kwargs=lambda world: {"pk": world.fac.booking.pk, "action": "check-in"},
        post_only=True,
    ),
    "facilities:staff_rounds": one(STAFF),
    "facilities:staff_round": one(STAFF, kwargs=w("fac.published_round.code", "code")),
    # running and publishing the draw needs facilities.run_draw: supervisors and admins
    "facilities:staff_round_action": one(
        SUPERVISOR_ONLY,
        kwargs=lambda world: {"code": world.fac.published_round.code, "action": "publish"},
        post_only=True,
    ),
    "facilities:staff_refunds": one(STAFF),
    "facilities:staff_refund_action": one(
        STAFF,
        kwargs=lambda world: {"pk": world.fac.refund.pk, "action": "pay"},
        post_only=True,
    ),
    "facilities:staff_stats": one(SUPERVISOR_ONLY),
    "facilities:staff_stats_csv": one(SUPERVISOR_ONLY, page=False),
    # facilities: API
    "facilities_api_list": one(PUBLIC, page=False),
    "facilities_api_detail": one(PUBLIC, kwargs=w("fac.facility.code", "code"), page=False),
    "facilities_api_availability": one(
        PUBLIC, query=lambda world: f"facility={world.fac.facility.code}&days=1", page=False
    ),
    "facilities_api_rounds": one(PUBLIC, page=False),
    "facilities_api_round": one(PUBLIC, kwargs=w("fac.published_round.code", "code")),
    "facilities_api_enter": one(LOGIN, kwargs=w("fac.open_round.code", "code"), post_only=True),
    "facilities_api_registrations": one(LOGIN),
    "facilities_api_bookings": one(LOGIN),
    "facilities_api_entries": one(LOGIN),
    "facilities_api_booking": one(OWNER, kwargs=w("fac.booking.pk")),
    "facilities_api_booking_action": one(
        OWNER,
        kwargs=lambda world: {"pk": world.fac.booking.pk, "action": "confirm-win"},
        post_only=True,
    ),
    "facilities_api_staff_week": one(STAFF, kwargs=w("fac.facility.code", "code")),
    "facilities_api_staff_decide": one(STAFF, kwargs=w("fac.group.pk"), post_only=True),
    "facilities_api_staff_block": one(
        STAFF, post_only=True, data=lambda world: {"unit": world.fac.unit.code}
    ),
    "facilities_api_staff_booking_action": one(
        STAFF,
        kwargs=lambda world: {"pk": world.fac.booking.pk, "action": "check-in"},
        post_only=True,
    ),
    "facilities_api_staff_round": one(STAFF, kwargs=w("fac.published_round.code", "code")),
    "facilities_api_staff_round_action": one(
        SUPERVISOR_ONLY,
        kwargs=lambda world: {"code": world.fac.published_round.code, "action": "publish"},
        post_only=True,
    ),
    "facilities_api_staff_usage": one(SUPERVISOR_ONLY),
    # an empty body is a 400 of the serializer's own
    "facilities_api_series": one(LOGIN, post_only=True),
    "facilities_api_staff_registrations": one(STAFF),
    "facilities_api_staff_checkin": one(STAFF, kwargs=w("fac.facility.code", "code")),
    "facilities_api_staff_refunds": one(STAFF),
    "facilities_api_staff_refund_action": one(
        STAFF,
        kwargs=lambda world: {"pk": world.fac.refund.pk, "action": "pay"},
        post_only=True,
    ),
    # notices: the resident's inbox and choices (their own only)
    "notices:inbox": one(LOGIN),
    "notices:notice": one(OWNER, kwargs=w("notice_delivery.pk")),
    "notices:open_send": one(OWNER, kwargs=w("notice_send.pk", "send_id")),
    "notices:settings": one(LOGIN),
    "notices:consent": one(LOGIN),
    "notices:line": one(LOGIN),
    "notices:line_start": one(LOGIN, post_only=True),
    "notices:line_callback": one(LOGIN),
    "notices:line_unlink": one(LOGIN, post_only=True),
    # RFC 8058 one-click unsubscribe: the signed token in the mail is the access check.
    "notices:unsubscribe": one(PUBLIC, kwargs=w("unsubscribe_token", "token")),
    # LINE's webhook: no session, the X-Line-Signature is the check (an empty POST is 400).
    "notices:line_webhook": one(PUBLIC, post_only=True, page=False),
    # notices: staff. Composing is for clerks and supervisors (notices.compose_send);
    # approving for supervisors and admins (notices.approve_send).
    "notices:staff_sends": one(CASEWORK),
    "notices:staff_stats": one(CASEWORK),
    "notices:staff_templates": one(CASEWORK),
    "notices:staff_template_new": one(CASEWORK),
    "notices:staff_template": one(CASEWORK, kwargs=w("notice_template.pk")),
    "notices:staff_compose": one(CASEWORK),
    "notices:staff_send": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_progress": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_segment": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_list_upload": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_preview": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_submit": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices:staff_approve": one(SUPERVISOR_ONLY, kwargs=w("notice_send.pk")),
    "notices:staff_send_back": one(SUPERVISOR_ONLY, kwargs=w("notice_send.pk")),
    "notices:staff_control": one(
        CASEWORK,
        kwargs=lambda world: {"pk": world.notice_send.pk, "action": "pause"},
        post_only=True,
    ),
    # B's inbox and deliveries, as in the counter's 360 view (read audited)
    "notices:staff_resident": one(STAFF, kwargs=w("b.pk", "resident_id")),
    # notices: API
    "notices_api_inbox": one(LOGIN),
    "notices_api_sends": one(CASEWORK),
    "notices_api_send": one(CASEWORK, kwargs=w("notice_send.pk")),
    "notices_api_segment_count": one(CASEWORK, post_only=True),
}


# --- walking the URLconf -----------------------------------------------------------------------


def _route(prefix: str, pattern) -> str:
    return prefix + str(pattern.pattern)


def _plain(route: str) -> str:
    return route.replace("^", "").replace("$", "")


def url_patterns() -> dict[str, list[str]]:
    """Every URL pattern of the URLconf: full name -> routes (unnamed ones keyed by route)."""
    found: dict[str, list[str]] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            route = _route(prefix, entry)
            if any(_plain(route).startswith(p) for p in EXCLUDED_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, route, inner)
            elif isinstance(entry, URLPattern):
                if _plain(route) in EXCLUDED_ROUTES:
                    continue
                if entry.name:
                    name = f"{namespace}:{entry.name}" if namespace else entry.name
                else:
                    name = f"<unnamed {_plain(route)}>"
                found.setdefault(name, []).append(_plain(route))

    walk(get_resolver(), "", "")
    return found


URL_PATTERNS = url_patterns()


def _params():
    params = []
    for name in sorted(set(URL_PATTERNS) | set(ACCESS)):
        for access in ACCESS.get(name) or (None,):
            for role in ROLES:
                label = f"{name}[{access.case}]" if access and access.case else name
                params.append(pytest.param(name, access, role, id=f"{label}-{role}"))
    return params


# --- the world: resident B's objects and everyone's accounts -----------------------------------

B_FAMILY_NAME = "乙原"
STAFF_LAYER_SLUG = "matrix-staff-parcels"
STAFF_FEATURE_ID = "筆-MATRIX-77"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FILE_FIELD = {"id": "id_doc", "type": "file", "label": {"ja": "本人確認書類", "en": "ID"}}
FORM = {
    "fields": [
        {
            "id": "name",
            "type": "text",
            "label": {"ja": "氏名", "en": "Name"},
            "required": True,
            "max_length": 40,
            "prefill": "name",
        },
        {
            "id": "address",
            "type": "address",
            "label": {"ja": "住所", "en": "Address"},
            "required": True,
            "prefill": "address",
        },
        {
            "id": "members",
            "type": "multi_choice",
            "label": {"ja": "必要な人", "en": "Whose record"},
            "required": True,
            "prefill": "household_members",
        },
        {
            "id": "purpose",
            "type": "text",
            "label": {"ja": "使いみち", "en": "Purpose"},
            "required": True,
            "max_length": 100,
        },
        FILE_FIELD,
    ]
}


def _box(west: float, south: float, east: float, north: float) -> Polygon:
    polygon = Polygon.from_bbox((west, south, east, north))
    polygon.srid = 6668
    return polygon


def _with_mfa(user):
    TOTP.activate(user, TOTP_SECRET)
    return user


def build_world() -> SimpleNamespace:
    """The same accounts as tests/conftest.py's role fixtures (those are function-scoped; the
    matrix builds its world once per module), and one set of resident B's objects made through
    each app's services."""
    from factories_residents import move_in

    from cityhall.notifications import notify
    from counter import services as counter_services
    from counter.models import Counter, Service
    from gis import services as gis_services
    from gis.models import Feature, GarbageDistrict, Layer
    from payments import online
    from payments import services as payment_services
    from payments.models import (
        Allocation,
        Approval,
        BatchRun,
        Credit,
        Notice,
        Revenue,
        StatementDocument,
    )
    from payments.revenues import revenue_defaults
    from procedures import services as procedure_services
    from procedures.certificates import issuing
    from procedures.models import FormDefinition, Procedure
    from residents.models import Resident

    users = {
        RESIDENT_A: UserFactory(role="resident"),
        RESIDENT_B: UserFactory(role="resident"),
        CLERK_NO_MFA: UserFactory(role="clerk"),
        CLERK: _with_mfa(UserFactory(role="clerk")),
        SUPERVISOR: _with_mfa(UserFactory(role="supervisor")),
        # A real admin: the admin group and Django admin's is_staff flag, no superuser bypass.
        ADMIN: _with_mfa(UserFactory(role="admin", is_staff=True)),
    }
    clerk, admin = users[CLERK], users[ADMIN]

    # Residents: A alone; B the head of a household of two. Both accounts linked.
    a = move_in(family_name="甲山", family_name_kana="コウヤマ", address="本町2丁目5番6号")
    b = move_in(
        family_name=B_FAMILY_NAME,
        family_name_kana="オツハラ",
        given_name="秘子",
        given_name_kana="ヒメコ",
        sex="female",
        address="本町2丁目7番8号",
    )
    move_in(
        family_name=B_FAMILY_NAME,
        family_name_kana="オツハラ",
        given_name="次郎",
        given_name_kana="ジロウ",
        household=b.household,
        relationship="子",
        birth_date=date(2010, 3, 3),
    )
    Resident.objects.filter(pk=a.pk).update(user=users[RESIDENT_A])
    Resident.objects.filter(pk=b.pk).update(user=users[RESIDENT_B])
    b.refresh_from_db()

    notification = notify(user=users[RESIDENT_B], subject="お知らせ", body="乙原さんへ")

    # GIS: a public layer, a staff-only layer, a garbage district, an address point.
    public_layer = Layer.objects.create(
        slug="matrix-facilities",
        name_ja="施設",
        name_en="Facilities",
        kind=Layer.Kind.FACILITIES,
        department="総務課",
        visibility=Layer.Visibility.PUBLIC,
        min_zoom=0,
    )
    staff_layer = Layer.objects.create(
        slug=STAFF_LAYER_SLUG,
        name_ja="筆（職員用）",
        name_en="Parcels (staff)",
        kind=Layer.Kind.PARCELS,
        department="資産税課",
        visibility=Layer.Visibility.STAFF,
        min_zoom=0,
    )
    Feature.objects.create(
        layer=public_layer,
        external_id="FAC-1",
        geometry=GEOSGeometry("POINT(139.5005 35.7005)", srid=6668),
        attributes={"name": "市民センター"},
        valid_from=timezone.now(),
    )
    Feature.objects.create(
        layer=staff_layer,
        external_id=STAFF_FEATURE_ID,
        geometry=_box(139.500, 35.700, 139.501, 35.701),
        attributes={"chiban": STAFF_FEATURE_ID},
        valid_from=timezone.now(),
    )
    district = GarbageDistrict.objects.create(code="G-MATRIX", name_ja="本町地区", name_en="Honcho")
    gis_services.set_garbage_schedule(district=district, kind="burnable", rule="月 木")
    gis_services.upsert_address_points([("本町1丁目1番1号", 139.5005, 35.7005, "本町1丁目1番1")])

    # Procedures: a published form with a file field, and a draft of the next version.
    procedure = procedure_services.save_procedure(
        procedure=Procedure(
            slug="matrix-juminhyo",
            name_ja="住民票の写しの交付請求",
            name_en="Certificate of residence",
            description_ja="住民票の写しの交付請求の手続きです。",
            department="juki",
            life_events=["moving"],
            certificate_kind="residence",
            processing_days=3,
        )
    )
    # Published as the seed does (publishing through the designer takes a second admin).
    published_form = FormDefinition.objects.create(
        procedure=procedure,
        version=1,
        definition=copy.deepcopy(FORM),
        created_by=admin,
        published_at=timezone.now(),
    )
    draft_form = procedure_services.save_draft_form(
        procedure=procedure, definition=copy.deepcopy(FORM), actor=admin
    )
    # B's application: an attachment, submitted, approved, certificate issued.
    application = procedure_services.start_application(
        procedure=procedure, resident=b, user=users[RESIDENT_B]
    )
    attachment = procedure_services.add_attachment(
        application=application,
        field_id="id_doc",
        upload=SimpleUploadedFile("b-id.pdf", PDF),
        actor=users[RESIDENT_B],
    )
    procedure_services.submit_application(
        application=application,
        actor=users[RESIDENT_B],
        answers={**application.answers, "purpose": "勤務先に提出", "members": [str(b.pk)]},
    )
    procedure_services.decide(application=application, target="approved", clerk=clerk)
    certificate = issuing.issue_certificate(application_id=application.pk)
    application.refresh_from_db()
    # A draft filed for B at the counter (書かない窓口).
    counter_application = procedure_services.start_application(
        procedure=procedure, resident=b, user=users[RESIDENT_B], filed_by=clerk
    )

    # Payments: a charge of two installments, a counter payment (receipt, allocation), a
    # demand notice, a rendered statement, an online payment at the sandbox, a batch run.
    revenue, _created = Revenue.objects.get_or_create(
        code="resident_tax", defaults=revenue_defaults("resident_tax")
    )
    charge = payment_services.create_charge(
        payer=b,
        revenue=revenue,
        fiscal_year=2025,
        installments=[(date(2025, 6, 30), 10_000), (date(2025, 8, 29), 10_000)],
    )
    first, second = charge.installments.order_by("number")
    payment = payment_services.record_counter_payment(payer=b, amount=3_000, clerk=clerk)
    allocation = Allocation.objects.filter(payment=payment).first()
    notice = Notice.objects.create(
        installment=first,
        kind=Notice.Kind.DEMAND,
        issued_on=date(2025, 7, 20),
        outstanding=7_000,
        fee=100,
    )
    statement_document = StatementDocument.objects.create(
        resident=b, as_of=timezone.localdate(), state=StatementDocument.State.READY, pdf=PDF
    )
    _online, checkout_url = online.start_online_payment(
        payer=b, installment_ids=[second.pk], return_url="/my/statement/"
    )
    sandbox_token = urlparse(checkout_url).path.rstrip("/").rsplit("/", 1)[-1]
    batch_run = BatchRun.objects.create(
        kind=BatchRun.Kind.ZENGIN_REQUEST,
        state=BatchRun.State.SUCCEEDED,
        input_digest="matrix",
        output=b"1910000000000000000000000000000000\r\n",
        output_name="matrix-zengin.txt",
        created_by=users[SUPERVISOR],
    )

    # B's overpayment of the first installment (a credit), a correction waiting for a second
    # person, and a card payment whose captured amount differed (held for review).
    overpaid = payment_services.record_counter_payment(
        payer=b,
        amount=first.amount - first.allocated + 2_000,
        clerk=clerk,
        installment_ids=[first.pk],
    )
    credit = Credit.objects.get(payment=overpaid)
    approval = Approval.objects.create(
        kind=Approval.Kind.CORRECTION,
        charge=charge,
        amount=5_000,
        params={"new_amounts": {"2": 5_000}},
        reason="matrix",
        requested_by=clerk,
    )
    review_payment = payment_services.create_payment(
        payer=b, channel="card", amount=1_000, provider="sandbox"
    )
    payment_services.hold_for_review(payment_id=review_payment.pk, captured_amount=1_200)

    # Counter: a desk open all day, B's ticket called to it.
    service = Service.objects.create(code="M", name_ja="住民票・証明書", name_en="Certificates")
    desk = Counter.objects.create(
        number=91,
        name="91番窓口",
        opens_at=time(0, 0),
        closes_at=time(23, 59, 59),
        open_on_closed_days=True,
    )
    desk.services.set([service])
    ticket = counter_services.issue_ticket(service=service, resident=b)
    counter_services.call_next(counter=desk, clerk=clerk)
    ticket.refresh_from_db()

    # Facilities: B's registrations, bookings, series, refund and lottery entries.
    from matrix_facilities import build as build_facilities

    fac = build_facilities(
        users=users, b_user=users[RESIDENT_B], clerk=clerk, supervisor=users[SUPERVISOR]
    )

    # Taxes: B's salary report and 令和7年度 assessment (特別徴収), and B's draft declaration
    # with an attachment.
    from taxes import assessing as tax_assessing
    from taxes import services as tax_services
    from taxes.formats import salary_report
    from taxes.models import Assessment as TaxAssessment

    tax_services.import_salary_reports(
        data=salary_report.render(
            [
                {
                    "employer_number": "300001",
                    "employer_name": "株式会社マトリクス",
                    "income_year": 2024,
                    "resident_code": b.resident_code,
                    "name_kana": "オツハラ ヒメコ",
                    "birth_date": b.birth_date.isoformat(),
                    "payment": 5_000_000,
                    "collection": "special",
                }
            ]
        ),
        file_name="matrix.csv",
        actor=clerk,
    )
    assessment_run = tax_assessing.submit_run(
        fiscal_year=2025, kind="initial", actor=users[SUPERVISOR], queue=False
    )
    assessment_run = tax_assessing.execute_run(assessment_run.pk, today=date(2025, 5, 20))
    assessment = TaxAssessment.objects.get(resident=b, fiscal_year=2025)
    declaration = tax_services.start_declaration(
        resident=b, user=users[RESIDENT_B], fiscal_year=2025, filed_by=clerk
    )
    declaration_attachment = procedure_services.add_attachment(
        application=declaration.application,
        field_id="withholding_slip",
        upload=SimpleUploadedFile("b-gensen.pdf", PDF),
        actor=users[RESIDENT_B],
    )

    # Notices: a send to B's account (event-style, to one person) with its inbox row.
    from notices import delivery as notice_delivery
    from notices import services as notice_services
    from notices.models import Channel as NoticeChannel
    from notices.models import Delivery as NoticeDelivery

    notice_template = notice_services.create_template(
        key="matrix-notice",
        name="お知らせ",
        topic="events",
        actor=users[SUPERVISOR],
        texts={
            "subject_ja": "お知らせ",
            "subject_en": "Notice",
            "body_ja": "((name)) 様",
            "body_en": "Dear ((name))",
        },
    )
    notice_send = notice_services.compose_send(template=notice_template, actor=users[SUPERVISOR])
    notice_send.segment = {"user_ids": [users[RESIDENT_B].pk]}
    notice_send.save(update_fields=["segment"])
    notice_send = notice_services.submit(send=notice_send, actor=users[SUPERVISOR])
    notice_services.start(send_id=notice_send.pk)
    notice_delivery_row = NoticeDelivery.objects.get(
        send=notice_send, user=users[RESIDENT_B], channel=NoticeChannel.INBOX
    )
    unsubscribe_token = (
        notice_delivery.unsubscribe_url(users[RESIDENT_B].pk).rstrip("/").rsplit("/", 1)[-1]
    )

    # One signed-in session per account, made once (each test's changes to it are rolled back).
    sessions = {}
    for role, user in users.items():
        signed_in = Client()
        signed_in.force_login(user)
        sessions[role] = signed_in.cookies[settings.SESSION_COOKIE_NAME].value

    return SimpleNamespace(
        users=users,
        sessions=sessions,
        a=a,
        b=b,
        notification=notification,
        public_layer=public_layer,
        staff_layer=staff_layer,
        district=district,
        procedure=procedure,
        published_form=published_form,
        draft_form=draft_form,
        application=application,
        attachment=attachment,
        certificate=certificate,
        counter_application=counter_application,
        charge=charge,
        payment=payment,
        allocation=allocation,
        notice=notice,
        statement_document=statement_document,
        sandbox_token=sandbox_token,
        batch_run=batch_run,
        credit=credit,
        approval=approval,
        review_payment=review_payment,
        desk=desk,
        ticket=ticket,
        fac=fac,
        declaration=declaration,
        declaration_attachment=declaration_attachment,
        assessment=assessment,
        assessment_run=assessment_run,
        employer=assessment.employer,
        notice_template=notice_template,
        notice_send=notice_send,
        notice_delivery=notice_delivery_row,
        unsubscribe_token=unsubscribe_token,
        private_markers=(B_FAMILY_NAME, users[RESIDENT_B].email),
        staff_markers=(STAFF_LAYER_SLUG, STAFF_FEATURE_ID),
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in an outer transaction; each test runs in a savepoint inside it (the `db`
    fixture), and everything is rolled back at the end of the module."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        files = [built.attachment.file, built.certificate.file, built.declaration_attachment.file]
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
        for stored in files:
            stored.storage.delete(stored.name)


# --- requesting and judging --------------------------------------------------------------------

LOGIN_PATH = "/accounts/login/"
MFA_SETUP_PATH = "/accounts/2fa/totp/activate"


def outcome(response) -> str:
    """'allowed', 'denied', 'login' (redirect to sign-in) or 'mfa' (redirect to MFA setup)."""
    assert response.status_code < 500, f"server error {response.status_code}"
    if response.status_code in (401, 403, 404):
        return "denied"
    if response.status_code in (301, 302, 303, 307, 308):
        target = urlparse(response["Location"]).path
        if target.startswith(LOGIN_PATH):
            return "login"
        if target.startswith(MFA_SETUP_PATH):
            return "mfa"
    return "allowed"


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
    else:
        data = response.content
    return data.decode("utf-8", errors="replace")


def door_shuts(path: str) -> bool:
    """Whether the staff door refuses a staff account without MFA on this path."""
    if path.startswith("/staff/"):
        return True
    return path.startswith("/api/") and not path.startswith(API_OPEN_TO_STAFF_WITHOUT_MFA)


def expected_allowed(access: Access, role: str, path: str) -> bool:
    if role in access.overrides:
        return access.overrides[role]
    if role == CLERK_NO_MFA and door_shuts(path):
        return False
    return role in access.rule.allowed


def check_denial_form(role: str, path: str, access: Access, got: str, status: int) -> str | None:
    """The way a refusal must look for some callers; None when it looks right."""
    if role == ANONYMOUS:
        if path.startswith("/api/"):
            if status not in (401, 403):
                return f"anonymous on the API must get 401/403, got {status}"
        elif access.page and got != "login":
            return f"anonymous on a page must be sent to sign in, got {status} ({got})"
    if role == CLERK_NO_MFA and door_shuts(path) and access.rule.allowed & STAFF_WITH_MFA:
        if path.startswith("/staff/") and got != "mfa":
            return f"staff without MFA on /staff/ must be sent to MFA setup, got {status} ({got})"
        if path.startswith("/api/") and status != 403:
            return f"staff without MFA on the API must get 403, got {status}"
    return None


def check_read_is_audited(name, access, where, text, rows, user, world) -> None:
    """A staff read of personal data wrote exactly one audit row: the reader, a purpose, and
    the client's address (the test client's REMOTE_ADDR)."""
    shows = [marker for marker in world.private_markers if marker in text]
    if not shows and name not in PERSONAL_DATA_DOCUMENTS:
        return
    if access.shows_owner_data:
        # A capability URL (the /verify/ code): whoever holds it sees the same, staff or not.
        return
    why = f"shows {shows}" if shows else PERSONAL_DATA_DOCUMENTS[name]
    reads = [row for row in rows if row.actor_id == user.pk]
    assert len(reads) == 1, (
        f"GET {where}: a staff read of personal data ({why}) must write one audit row, "
        f"wrote {[row.action for row in reads]}"
    )
    row = reads[0]
    assert row.purpose, f"GET {where}: audit row {row.action!r} has no purpose"
    assert row.ip_address == "127.0.0.1", f"GET {where}: audit row without the client address"


@pytest.mark.parametrize(("name", "access", "role"), _params())
def test_access(world, db, name, access, role):
    assert name in URL_PATTERNS, (
        f"ACCESS has an entry for {name!r}, which is not a URL pattern any more: remove it"
    )
    assert access is not None, (
        f"URL pattern {name!r} ({', '.join('/' + r for r in URL_PATTERNS[name])}) has no "
        "access decision: add it to ACCESS in tests/hardening/test_access_matrix.py"
    )
    kwargs = access.kwargs(world) if access.kwargs else {}
    path = reverse(name, kwargs=kwargs)
    query = access.query(world) if callable(access.query) else access.query
    url = f"{path}?{query}" if query else path

    client = Client()
    if role != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    want = expected_allowed(access, role, path)
    word = "allowed" if want else "denied"
    where = f"{name} {url} as {role} (rule: {access.rule.name})"

    audit_mark = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    responses = []
    get = client.get(url)
    read_rows = list(AuditEvent.objects.filter(id__gt=audit_mark))
    if access.post_only:
        post = client.post(url, access.data(world) if access.data else {})
        responses.append(("POST", post))
        got_get = outcome(get)
        # the GET of a POST-only view: the same outcome as the POST, or 405
        if get.status_code != 405:
            assert (got_get == "allowed") == want, (
                f"GET {where}: expected {word} (or 405), got {get.status_code} ({got_get})"
            )
    else:
        responses.append(("GET", get))

    for method, response in responses:
        got = outcome(response)
        assert (got == "allowed") == want, (
            f"{method} {where}: expected {word}, got {response.status_code} ({got})"
        )
        # Nothing a signed-in person is shown is kept by a cache, unless the
        # view declared the data public.
        if role != ANONYMOUS:
            cache_control = response.get("Cache-Control", "")
            assert "no-store" in cache_control or "public" in cache_control, (
                f"{method} {where}: Cache-Control {cache_control!r} lets a cache keep it"
            )
        if not want:
            problem = check_denial_form(role, path, access, got, response.status_code)
            assert problem is None, f"{method} {where}: {problem}"
            continue
        text = body_of(response)
        if method == "GET" and role in STAFF_WITH_MFA:
            check_read_is_audited(name, access, where, text, read_rows, world.users[role], world)
        if role in (ANONYMOUS, RESIDENT_A) and not access.shows_owner_data:
            for marker in world.private_markers:
                assert marker not in text, f"{method} {where}: resident B's {marker!r} leaked"
        if role not in STAFF_WITH_MFA:
            for marker in world.staff_markers:
                assert marker not in text, f"{method} {where}: staff-only data {marker!r} leaked"


def test_every_url_pattern_has_an_access_decision():
    """One place that lists every missing decision (the parametrized tests fail one by one)."""
    missing = sorted(set(URL_PATTERNS) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(URL_PATTERNS))
    assert not missing, f"URL patterns without an access decision in ACCESS: {missing}"
    assert not stale, f"ACCESS entries for URLs that no longer exist: {stale}"
    # reverse() reaches one route per name: a second route under the same name would go untried.
    shared = {name: routes for name, routes in URL_PATTERNS.items() if len(routes) > 1}
    assert not shared, f"URL names used by more than one route (give each its own): {shared}"
