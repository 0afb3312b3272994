"""The My Numbers typed into applications, sealed with the residents vault's keys (the answers
keep only masks; 番号法 12条: safe keeping), read back for code that has checked who asks, and
re-sealed under the current key when the keys rotate (``manage.py rotate_mynumber_keys``).
"""

from __future__ import annotations

import json

from django.db import transaction

from residents.services import register_key_rotation

from ..models import (
    Application,
)


def _sealing_context(application: Application) -> str:
    return f"application:{application.reference}:mynumbers"


def sealed_mynumbers(application: Application) -> dict[str, str]:
    """The My Numbers typed into the application (field id -> number), for code that has checked
    who is asking: the answers themselves hold only masks."""
    if not application.sealed_mynumbers:
        return {}
    from residents.services import unseal

    return json.loads(unseal(application.sealed_mynumbers, context=_sealing_context(application)))


def _seal_mynumbers(application: Application, numbers: dict[str, str]) -> None:
    from residents.services import seal

    application.sealed_mynumbers = (
        seal(json.dumps(numbers).encode(), context=_sealing_context(application))
        if numbers
        else None
    )


@register_key_rotation
def reseal_application_mynumbers(*, batch_size: int = 500) -> int:
    """Re-seal the My Numbers typed into applications under the first key (run by
    `manage.py rotate_mynumber_keys`); batches in their own transactions, resumable."""
    from residents.services import sealed_under_current_key

    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Application.objects.select_for_update()
                .filter(pk__gt=last_pk, sealed_mynumbers__isnull=False)
                .order_by("pk")
                .only("pk", "reference", "sealed_mynumbers")[:batch_size]
            )
            if not rows:
                return done
            for application in rows:
                if sealed_under_current_key(application.sealed_mynumbers):
                    continue
                _seal_mynumbers(application, sealed_mynumbers(application))
                application.save(update_fields=["sealed_mynumbers"])
                done += 1
            last_pk = rows[-1].pk
