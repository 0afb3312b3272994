"""Roles (groups) and what each may do.

Four groups exist from the first migration. Their permissions are listed here and applied after
every migrate (permissions only exist once the apps' tables do), so the table below is the one
place that says who may do what.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, Permission

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
