"""Roles (groups) and what each may do.

Four groups exist from the first migration. Their permissions are listed here and applied after
every migrate (permissions only exist once the apps' tables do), so the table below is the one
place that says who may do what.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

RESIDENT = "resident"
CLERK = "clerk"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ALL_ROLES = (RESIDENT, CLERK, SUPERVISOR, ADMIN)
STAFF_ROLES = (CLERK, SUPERVISOR, ADMIN)

# app_label.codename; a permission whose app is not installed yet is skipped. Apps add their own
# with `grant()` in their AppConfig.ready().
ROLE_PERMISSIONS: dict[str, list[str]] = {
    RESIDENT: [],
    CLERK: [],
    SUPERVISOR: ["cityhall.view_auditevent"],
    ADMIN: ["cityhall.view_auditevent", "cityhall.view_user", "cityhall.change_user"],
}


def grant(role: str, *permissions: str) -> None:
    """Give a role permissions (called by apps at start-up; applied after every migrate)."""
    for permission in permissions:
        if permission not in ROLE_PERMISSIONS[role]:
            ROLE_PERMISSIONS[role].append(permission)


def sync_role_permissions(**_kwargs) -> None:
    """Create the groups if missing and give each exactly the permissions in ROLE_PERMISSIONS."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def roles_of(user) -> set[str]:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return set()
    cached = getattr(user, "_machiba_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._machiba_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_staff_member(user) -> bool:
    """Clerks, supervisors and admins: the people who may use the /staff/ door."""
    return has_role(user, *STAFF_ROLES)


class SystemActor:
    """The city's own batch and system work (imports, the demo seed, scheduled jobs), passed as
    the actor where a service needs one. It is no person: nothing it writes names a user, and the
    audit log records it as the system. Passing it is a decision made in code, unlike `None`,
    which a forgotten argument also gives and which services refuse."""

    is_authenticated = False
    is_anonymous = False
    pk = None

    def has_perm(self, perm: str, obj=None) -> bool:
        return True

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()


def require_permission(actor, permission: str) -> None:
    """Refuse `actor` unless it holds `permission` (app_label.codename) or is SYSTEM."""
    if actor is SYSTEM:
        return
    if actor is None or not actor.is_authenticated or not actor.has_perm(permission):
        raise PermissionDenied(
            _("この操作には権限（%(permission)s）が必要です。") % {"permission": permission}
        )


def holds_by_role(actor, permission: str) -> bool:
    """Whether a role (group) of `actor`, or a grant to the person, gives `permission`, with no
    superuser shortcut: for work the law limits to designated staff (番号法 事務取扱担当者), which
    a superuser account is not by being one."""
    if actor is None or actor is SYSTEM or not actor.is_authenticated:
        return False
    app_label, codename = permission.split(".", 1)
    lookup = {"content_type__app_label": app_label, "codename": codename}
    return (
        Permission.objects.filter(group__user=actor, **lookup).exists()
        or Permission.objects.filter(user=actor, **lookup).exists()
    )


def person_or_none(actor):
    """The user to store on a row (a movement's clerk, a code's issuer): None for SYSTEM."""
    return None if actor is SYSTEM else actor
