"""Where the home page and the staff dashboard link to.

Each app registers its entry points in its AppConfig.ready(), so the shared core does not need
to know the apps above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Link:
    url_name: str
    title: str
    description: str
    order: int = 100

    @property
    def url(self) -> str:
        return reverse(self.url_name)


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
