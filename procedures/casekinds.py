"""Case kinds: apps above procedures that file their own cases into the clerks' queue.

An app with its own forms and records (taxes' 住民税申告, for one) files each submission as an
``Application`` of a procedure it declares here, so the case has a reference, a state in the one
workflow table, attachments, notifications and a place in ``/staff/cases/``. It registers a
:class:`CaseKind` (a small typed registry, as payments' settlement hooks and the certificate kinds
are) instead of procedures importing it. The contract:

- ``procedure`` is the catalogue entry (slug, names, department, form fields); procedures creates
  it, with its form published, the first time :func:`ensure_procedure` is asked for it. It is not
  listed in the catalogue (``is_active=False``): residents reach it through the app's own pages.
- ``resident_url(application)`` is where the resident fills or corrects the case; procedures'
  generic form sends them there.
- ``staff_link(application)`` is ``(url, label)`` the clerk's case page links to, or None.
- ``on_transition(application, previous, target, actor)`` runs inside the transaction of every
  state change of such an application (after the event row is written), so the app's own record
  follows the case (withdrawn, returned for correction, accepted) and rolls back with it. It must
  not change the application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone


@dataclass(frozen=True)
class CaseKind:
    procedure: dict[str, Any]
    resident_url: Callable[[Any], str]
    staff_link: Callable[[Any], tuple[str, str] | None] = field(default=lambda application: None)
    on_transition: Callable[[Any, str, str, Any], None] = field(
        default=lambda application, previous, target, actor: None
    )

    @property
    def slug(self) -> str:
        return self.procedure["slug"]


_registry: dict[str, CaseKind] = {}


def register(kind: CaseKind) -> CaseKind:
    _registry[kind.slug] = kind
    return kind


def for_slug(slug: str) -> CaseKind | None:
    return _registry.get(slug)


def for_application(application) -> CaseKind | None:
    return _registry.get(application.procedure.slug)


def transitioned(application, previous: str, target: str, actor) -> None:
    kind = for_application(application)
    if kind is not None:
        kind.on_transition(application, previous, target, actor)


def ensure_procedure(kind: CaseKind):
    """The kind's procedure with a published form, created the first time (idempotent)."""
    from . import formschema, services
    from .models import FormDefinition, Procedure

    spec = kind.procedure
    procedure = Procedure.objects.filter(slug=spec["slug"]).first()
    if procedure is not None and procedure.forms.exclude(published_at=None).exists():
        return procedure
    definition = {"fields": spec["fields"]}
    formschema.check_definition(definition)
    try:
        with transaction.atomic():
            if procedure is None:
                attrs = {k: v for k, v in spec.items() if k not in ("slug", "fields")}
                procedure = services.save_procedure(
                    procedure=Procedure(slug=spec["slug"], is_active=False, **attrs)
                )
            FormDefinition.objects.create(
                procedure=procedure, version=1, definition=definition, published_at=timezone.now()
            )
    except IntegrityError:
        # Another request created it at the same moment.
        procedure = Procedure.objects.get(slug=spec["slug"])
    return procedure
