"""schemathesis against /api/schema/: every endpoint, as a resident and as a clerk.

Bounded: a few examples per operation, so the suite stays quick. A 5xx, a response whose body
does not match its documented schema, or a wrong content type fails the test.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from factories import TOTP_SECRET, UserFactory

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def logged_in_session(user, base_url: str) -> requests.Session:
    client = Client()
    client.force_login(user)
    client.get("/")  # sets the CSRF cookie
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    csrftoken = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else "x" * 32
    session.cookies.set("csrftoken", csrftoken)
    session.headers.update({"X-CSRFToken": csrftoken, "Referer": base_url + "/"})
    return session


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["resident", "clerk"])
def test_api_has_no_server_errors_and_keeps_to_its_schema(live_server, role):
    user = UserFactory(role=role)
    if role != "resident":
        TOTP.activate(user, TOTP_SECRET)
    session = logged_in_session(user, live_server.url)
    schema = schemathesis.openapi.from_url(live_server.url + "/api/schema/")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            response = case.call(base_url=live_server.url, session=session, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert operations > 5
    assert not failures, "\n\n".join(failures)
