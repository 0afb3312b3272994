"""Where the home page and the staff dashboard link to.

Each app registers its entry points in its AppConfig.ready(), so the shared core does not need
to know the apps above it. A staff link says who may open it (the permission or the check its
view makes), so the dashboard shows each person only the tiles that open for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Link:
    url_name: str
    title: str
    description: str
    order: int = 100
    # Who may open the page: a permission ("app.codename") and/or a check taking the user; the
    # same rule the view enforces. Neither means every staff member.
    permission: str = ""
    allowed: Callable[[Any], bool] | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    def opens_for(self, user) -> bool:
        if self.permission and not user.has_perm(self.permission):
            return False
        return self.allowed is None or bool(self.allowed(user))


_portal: list[Link] = []
_staff: list[Link] = []


def register_portal(link: Link) -> None:
    if link not in _portal:
        _portal.append(link)


def register_staff(link: Link) -> None:
    if link not in _staff:
        _staff.append(link)


def _resolvable(links: list[Link]) -> list[Link]:
    out = []
    for link in sorted(links, key=lambda item: item.order):
        try:
            link.url  # noqa: B018 - reversing is the check
        except NoReverseMatch:
            continue
        out.append(link)
    return out


def portal_links() -> list[Link]:
    return _resolvable(_portal)


def staff_links() -> list[Link]:
    return _resolvable(_staff)


def staff_links_for(user) -> list[Link]:
    """The staff tiles this user may open."""
    return [link for link in _resolvable(_staff) if link.opens_for(user)]
