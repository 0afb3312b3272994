"""Certificate kinds register here (a small typed registry, as payment providers do elsewhere).

A kind turns an approved application into what its PDF prints. Its contract:

- `build(application)` reads records through other apps' selectors only and returns
  `(context, summary)`: `context` for the kind's template, `summary` for the public
  /verify/<code> page, which shows that the certificate is genuine and what it certifies, so it
  holds the kind and the names printed and nothing more.
- It never changes any row (issuing.py does, once, under a lock) and never moves money; the
  only rows it may cause are the audit events of the reads it makes (My Number on 住民票の写し),
  written in issuing's transaction, so they vanish with it when rendering fails.
- It raises `django.core.exceptions.ValidationError` with a bilingual message when the
  certificate cannot be issued (no seal registered, no tax record).
"""

from __future__ import annotations

from typing import Any, ClassVar


class CertificateKindBase:
    key: ClassVar[str]
    title: ClassVar[str]
    template: ClassVar[str]
    # The questions `build` reads from the answers, as form fields: publishing a form of a
    # procedure that issues this kind needs each (same id and type); the designer adds them.
    form_fields: ClassVar[tuple[dict[str, Any], ...]] = ()

    def build(self, application) -> tuple[dict[str, Any], dict[str, Any]]:
        raise NotImplementedError

    def prints_mynumber(self, application) -> bool:
        """Whether the certificate of this application prints a My Number (個人番号): then a
        counter request needs a second approver holding reveal_mynumber, and the PDF goes only
        to its applicant or to staff holding that permission."""
        return False


_registry: dict[str, CertificateKindBase] = {}


def register(kind: type[CertificateKindBase]) -> type[CertificateKindBase]:
    _registry[kind.key] = kind()
    return kind


def get(key: str) -> CertificateKindBase:
    from . import kinds  # noqa: F401 - registers the built-in kinds

    return _registry[key]
