"""The session's user and roles come from Redis (cityhall.authcache), and a change to the account
(a role given or taken, a deactivation, a password change) holds on the very next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cityhall.authcache import forget_user
from cityhall.models import User
from cityhall.roles import roles_of

pytestmark = pytest.mark.django_db


def _get(client, path="/my/"):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, [q["sql"] for q in queries.captured_queries]


def _warm(client, user):
    client.force_login(user)
    client.get("/my/")
    response, sql = _get(client)
    assert response.status_code == 200
    # Served from Redis: neither the user row nor the groups were read.
    assert not [q for q in sql if '"cityhall_user"' in q or '"auth_group"' in q], sql
    return response


def test_the_user_and_roles_are_not_read_per_request(client, resident_user):
    response = _warm(client, resident_user)
    assert response.wsgi_request.user.pk == resident_user.pk
    assert roles_of(response.wsgi_request.user) == {"resident"}


def test_a_role_given_or_taken_holds_on_the_next_request(client, resident_user):
    _warm(client, resident_user)
    clerk = Group.objects.get(name="clerk")
    resident_user.groups.add(clerk)
    response, _sql = _get(client)
    assert roles_of(response.wsgi_request.user) == {"resident", "clerk"}
    # Taken from the group's side (the reverse relation) is seen too.
    clerk.user_set.remove(resident_user)
    response, _sql = _get(client)
    assert roles_of(response.wsgi_request.user) == {"resident"}
    clerk.user_set.add(resident_user)
    clerk.user_set.clear()
    response, _sql = _get(client)
    assert roles_of(response.wsgi_request.user) == {"resident"}


def test_a_renamed_role_holds_on_the_next_request(client, resident_user):
    group = Group.objects.create(name="temporary")
    resident_user.groups.add(group)
    _warm(client, resident_user)
    group.name = "clerk-temp"
    group.save()
    response, _sql = _get(client)
    assert "clerk-temp" in roles_of(response.wsgi_request.user)
    group.delete()
    response, _sql = _get(client)
    assert roles_of(response.wsgi_request.user) == {"resident"}


def test_a_deactivated_account_is_signed_out_on_the_next_request(client, resident_user):
    _warm(client, resident_user)
    resident_user.is_active = False
    resident_user.save(update_fields=["is_active"])
    response = client.get("/my/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_password_change_ends_the_other_sessions(client, resident_user):
    _warm(client, resident_user)
    resident_user.set_password("a-new-long-passphrase-2026")
    resident_user.save()
    response = client.get("/my/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_write_without_signals_is_seen_after_forget_user(client, resident_user):
    _warm(client, resident_user)
    User.objects.filter(pk=resident_user.pk).update(is_active=False)
    forget_user(resident_user.pk)
    assert client.get("/my/").status_code == 302


def test_an_entry_read_before_a_committed_change_is_not_served(client, resident_user):
    """A request that read the row before a change committed stores its entry under the token
    it read first; the change replaces the token, so that entry is refused."""
    from django.core.cache import cache

    from cityhall.authcache import cached_user

    client.force_login(resident_user)
    cache.delete_many([f"authuser:{resident_user.pk}", f"authuser-v:{resident_user.pk}"])
    user = cached_user(resident_user.pk)  # stores an entry under a fresh token
    assert user.is_active
    entry = cache.get(f"authuser:{resident_user.pk}")
    # The deactivation commits (token replaced), then the slow request writes its old entry.
    resident_user.is_active = False
    resident_user.save(update_fields=["is_active"])
    cache.set(f"authuser:{resident_user.pk}", entry)
    assert cached_user(resident_user.pk).is_active is False


def test_a_change_redis_never_heard_of_holds_within_a_minute(client, resident_user):
    """A change made while Redis was unreachable replaces no token; the entry's short life in
    Redis bounds how long the old account can still be served."""
    from django.core.cache import cache

    _warm(client, resident_user)
    client_redis = cache._cache.get_client(write=False)
    ttl = client_redis.ttl(cache.make_and_validate_key(f"authuser:{resident_user.pk}"))
    assert 0 < ttl <= 60
