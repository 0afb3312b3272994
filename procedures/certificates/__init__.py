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

from collections.abc import Callable
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


# Where the 課税証明書 reads its figures: an app that assesses taxes (taxes' 個人住民税) registers
# a source returning the rows to print for (resident, fiscal year) -- [(label, yen), ...] in print
# order, the last row being the total -- or None when it holds no assessment for that year; the
# certificate then falls back to the charges payments holds (years billed from an imported
# assessment file before the assessing app existed).
TaxSource = Callable[[Any, int], list[tuple[str, int]] | None]
_tax_sources: list[TaxSource] = []


def register_tax_source(source: TaxSource) -> TaxSource:
    if source not in _tax_sources:
        _tax_sources.append(source)
    return source


def tax_rows(resident, fiscal_year: int) -> list[tuple[str, int]] | None:
    for source in _tax_sources:
        rows = source(resident, fiscal_year)
        if rows is not None:
            return rows
    return None
