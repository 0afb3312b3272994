"""One permission class for staff API endpoints (cityhall.api.staff_with), used by the counter,
facilities and notices APIs instead of three copies: staff, the named permission, and MFA."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

import counter.api
import facilities.api.staff
import notices.api
from cityhall.api import staff_with

pytestmark = pytest.mark.django_db


def _allowed(permission_class, user) -> bool:
    request = RequestFactory().get("/api/")
    request.user = user
    return permission_class().has_permission(request, None)


def test_staff_with_needs_staff_the_permission_and_mfa(
    clerk, clerk_without_mfa, supervisor, resident_user
):
    serve = staff_with("counter.serve_ticket")
    assert _allowed(serve, clerk)
    assert not _allowed(serve, clerk_without_mfa)
    assert not _allowed(serve, resident_user)
    # A supervisor signed in with MFA but without the permission named.
    assert not supervisor.has_perm("notices.no_such_permission")
    assert not _allowed(staff_with("notices.no_such_permission"), supervisor)


def test_the_apps_use_the_shared_class():
    assert counter.api.IsCounterClerk.__qualname__ == "Staff_serve_ticket"
    assert notices.api.CanCompose.__qualname__ == "Staff_compose_send"
    assert facilities.api.staff._staff is staff_with
