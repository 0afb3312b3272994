"""The signed-in person and their roles, read from Redis instead of two queries per request.

Every page asks who the visitor is (the session's user id → the user row) and, for the idle
limit and the staff door, which roles they hold (their groups). Both are kept in Redis, under
the user's id, beside a *version token*: a random value replaced whenever the account or its
roles change (a save or delete of the user, a group added or removed on either side, a group
renamed or deleted). An entry is served only while it carries the current token, so

- a change is seen on the very next request: the token is replaced at once and again when the
  writing transaction commits, so a request that read the old row just before the commit cannot
  leave an entry the next request would accept;
- a deactivated account (is_active false) is refused as Django's own backend refuses it, and a
  changed password ends other sessions as before (the session hash is checked on the entry's
  password field);
- without Redis (or with the token evicted) every request reads the database, as before; a
  change made while Redis was unreachable holds within ENTRY_SECONDS (a minute).

The entry holds the row's field values, not a pickled user: a user object collects per-request
state (the permission caches of has_perm) that must not outlive the request.

Writes that skip the model's signals (`QuerySet.update`, raw SQL on cityhall_user or
auth_group) must call `forget_user()`; the language middleware does.
"""

from __future__ import annotations

import uuid

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

# A change replaces the token, so an entry is never served after it; but a change made while
# Redis could not be reached replaces nothing (the write is dropped). The entry's short life
# bounds that case: a deactivation or a role removed during a Redis outage holds within a
# minute, while a busy user's requests still read the row once a minute, not once a request.
# The token lives longer, so an entry is never accepted against a token that was evicted and
# then re-created.
ENTRY_SECONDS = 60
TOKEN_SECONDS = 24 * 3600


def _keys(user_id) -> tuple[str, str]:
    return f"authuser:{user_id}", f"authuser-v:{user_id}"


def forget_user(user_id) -> None:
    """Replace the user's version token now and after the current transaction commits."""
    if user_id is None:
        return

    def replace() -> None:
        cache.set(_keys(user_id)[1], uuid.uuid4().hex, TOKEN_SECONDS)

    replace()
    transaction.on_commit(replace)


def _forget_many(user_ids) -> None:
    for user_id in set(user_ids or ()):
        forget_user(user_id)


def cached_user(user_id):
    """The active user with this id, roles attached (cityhall.roles reads them), or None."""
    User = get_user_model()
    entry_key, token_key = _keys(user_id)
    found = cache.get_many([entry_key, token_key])
    token = found.get(token_key)
    entry = found.get(entry_key)
    if token is not None and entry is not None and entry["token"] == token:
        user = User.from_db("default", entry["fields"], entry["values"])
        user._machiba_roles = set(entry["roles"])
        return user
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(token_key, token, TOKEN_SECONDS):
            token = cache.get(token_key)
    # The token was read before the row: a change committed after this read replaces it, so
    # the entry written below (with the older token) is never served.
    try:
        user = User._default_manager.get(pk=user_id)
    except User.DoesNotExist:
        return None
    roles = set(user.groups.values_list("name", flat=True))
    user._machiba_roles = roles
    if token is not None:
        fields = [field.attname for field in User._meta.concrete_fields]
        cache.set(
            entry_key,
            {
                "token": token,
                "fields": fields,
                "values": [getattr(user, name) for name in fields],
                "roles": sorted(roles),
            },
            ENTRY_SECONDS,
        )
    return user


class CachedUserMixin:
    def get_user(self, user_id):
        user = cached_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class CachedModelBackend(CachedUserMixin, ModelBackend):
    """django.contrib.auth's backend, reading the session's user through cached_user."""


class CachedAllauthBackend(CachedUserMixin, AuthenticationBackend):
    """allauth's backend (e-mail login), reading the session's user through cached_user."""


def _user_saved(sender, instance, **kwargs):
    forget_user(instance.pk)


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if not reverse:
        forget_user(instance.pk)
    elif action == "pre_clear":
        _forget_many(instance.user_set.values_list("pk", flat=True))
    else:
        _forget_many(pk_set)


def _group_changed(sender, instance, **kwargs):
    if instance.pk is not None:
        _forget_many(instance.user_set.values_list("pk", flat=True))


def connect_signals() -> None:
    User = get_user_model()
    post_save.connect(_user_saved, sender=User, dispatch_uid="authcache_user_saved")
    post_delete.connect(_user_saved, sender=User, dispatch_uid="authcache_user_deleted")
    m2m_changed.connect(
        _groups_changed, sender=User.groups.through, dispatch_uid="authcache_groups"
    )
    post_save.connect(_group_changed, sender=Group, dispatch_uid="authcache_group_saved")
    pre_delete.connect(_group_changed, sender=Group, dispatch_uid="authcache_group_deleted")
