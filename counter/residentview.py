"""The clerk's one view of a resident (住民の総合照会), gathered through the owners' selectors."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import NoReverseMatch, reverse

from payments import selectors as payment_selectors
from procedures import selectors as procedure_selectors
from residents import selectors as resident_selectors

# Newest applications and certificates shown; older ones are in the case queue.
SHOWN = 50

# Sections the apps above the counter add to the view (notices: the resident's inbox and
# deliveries), registered in their AppConfig.ready(), so the counter never imports them.
_sections: dict[str, tuple[int, str, Callable]] = {}


def register_section(*, key: str, template: str, context: Callable, order: int = 100) -> None:
    _sections[key] = (order, template, context)


def _resident_url(name: str, resident_id: int) -> str | None:
    """The owner's page for this resident: `name` with a resident_id, or `name`?resident=id."""
    try:
        return reverse(name, kwargs={"resident_id": resident_id})
    except NoReverseMatch:
        pass
    try:
        return f"{reverse(name)}?resident={resident_id}"
    except NoReverseMatch:
        return None


def resident_overview(resident) -> dict:
    applications = list(procedure_selectors.applications_for_resident(resident)[:SHOWN])
    installments = payment_selectors.open_installments_for_resident(resident)
    return {
        "resident": resident,
        "household": resident_selectors.household_members(resident),
        # Open: drafts and cases still moving; past: rejected, withdrawn or completed.
        "open_applications": [a for a in applications if a.is_open],
        "past_applications": [a for a in applications if not a.is_open],
        "certificates": list(procedure_selectors.certificates_for_resident(resident)[:SHOWN]),
        "installments": installments,
        "payments": list(payment_selectors.payments_for_resident(resident)),
        "balance": payment_selectors.balance_for_resident(resident, rows=installments),
        "extra_sections": [
            {"template": template, **context(resident)}
            for _order, template, context in sorted(_sections.values(), key=lambda s: s[0])
        ],
        "actions": {
            "counter_filing": _resident_url("procedures:counter_start", resident.pk),
            "certificate": _resident_url("procedures:counter_certificate", resident.pk),
            "payment": _resident_url("payments:counter_payment", resident.pk),
        },
    }
