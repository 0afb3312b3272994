"""My Number (個人番号): the register's own numbers, revealing one with a purpose, printing one on a
certificate, and the key ring other apps seal their data with (番号法 安全管理措置)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cityhall import audit
from cityhall.roles import SYSTEM, holds_by_role

from .. import mynumber as mynumber_rules
from .. import vault
from ..models import Resident
from .common import MSG_MYNUMBER_TAKEN, MSG_PURPOSE_REQUIRED, _keys

REVEAL_PERMISSION = "residents.reveal_mynumber"
CERTIFICATE_PERMISSION = "residents.certify_mynumber"


def _mynumber_fields(number: str, *, resident_code: str, exclude_pk: int | None) -> dict:
    try:
        number = mynumber_rules.normalize(number)
    except ValueError as exc:
        raise ValidationError({"mynumber": str(exc)}) from exc
    keys = _keys()
    taken = Resident.objects.filter(
        status=Resident.Status.CURRENT, mynumber_digest__in=vault.digests(number, keys=keys)
    )
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"mynumber": MSG_MYNUMBER_TAKEN})
    return {
        "mynumber_ciphertext": vault.encrypt(number, keys=keys, associated=resident_code),
        "mynumber_digest": vault.digest(number, secret=keys[0]),
    }


def decrypt_mynumber(resident: Resident) -> str:
    """The plain number, for code that has already checked permission and logged the purpose."""
    if not resident.mynumber_ciphertext:
        return ""
    return vault.decrypt(
        resident.mynumber_ciphertext, keys=_keys(), associated=resident.resident_code
    )


def mask_of(resident: Resident) -> str:
    """The masked number (********9084) for screens, or "" when none is registered."""
    if not resident.mynumber_ciphertext:
        return ""
    return mynumber_rules.mask(decrypt_mynumber(resident))


def reveal_mynumber(*, resident: Resident, actor, purpose: str, request=None) -> str:
    """Show a My Number to a supervisor, writing the purpose to the audit log (番号法19条)."""
    if actor is None or actor is SYSTEM or not actor.has_perm(REVEAL_PERMISSION):
        raise PermissionDenied(_("個人番号を表示する権限がありません。"))
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    number = decrypt_mynumber(resident)
    audit.record(
        action="residents.mynumber_revealed",
        actor=actor,
        obj=resident,
        purpose=purpose,
        request=request,
    )
    return number


def mynumber_for_certificate(
    *, resident: Resident, actor, purpose: str, own_request: bool = False
) -> str:
    """The plain My Number to print on a certificate of residence (住民票の写し) that asked for it.

    住民基本台帳法12条5項: 個人番号 is printed only on request, and only for the person or a member
    of their household; the caller (procedures) checks that. Here: the clerk or supervisor who
    approved the request is the actor, holding certify_mynumber through their role, and the access is written to the audit log with the
    purpose (番号法19条). A request the resident made from their own account (`own_request`)
    sends the number only to them; any other request (at the counter) needs an approver who
    holds reveal_mynumber. Returns "" when no number is registered (the access is still logged).
    """
    if not holds_by_role(actor, CERTIFICATE_PERMISSION):
        raise PermissionDenied(_("個人番号を証明書に記載できるのは職員だけです。"))
    if not own_request and not actor.has_perm(REVEAL_PERMISSION):
        raise PermissionDenied(_("個人番号を扱う権限がありません。"))
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationError({"purpose": MSG_PURPOSE_REQUIRED})
    number = decrypt_mynumber(resident)
    audit.record(
        action="resident.mynumber_for_certificate",
        actor=actor,
        obj=resident,
        purpose=purpose,
        details={"registered": bool(number)},
    )
    return number


def seal(data: bytes, *, context: str) -> bytes:
    """Encrypt bytes with the My Number key ring (first key), bound to `context` (a name that
    says what the bytes are, e.g. "certificate:2026-0000012"): for other apps' data that holds
    or prints a My Number (番号法 安全管理措置)."""
    return vault.encrypt_bytes(data, keys=_keys(), associated=context)


def unseal(blob: bytes, *, context: str) -> bytes:
    """The bytes `seal` encrypted under the same context, with whichever listed key sealed them."""
    return vault.decrypt_bytes(bytes(blob), keys=_keys(), associated=context)


def sealed_under_current_key(blob: bytes) -> bool:
    return vault.is_current(bytes(blob), keys=_keys())


# Other apps' data sealed with the key ring register a re-sealing function here (procedures'
# certificates, …); `rotate_mynumber_keys` runs them after the residents' own rows.
KEY_ROTATION_HOOKS: list[Callable[..., int]] = []


def register_key_rotation(hook: Callable[..., int]) -> Callable[..., int]:
    if hook not in KEY_ROTATION_HOOKS:
        KEY_ROTATION_HOOKS.append(hook)
    return hook


def rotate_mynumber_keys(*, batch_size: int = 1000) -> int:
    """Re-encrypt and re-digest every My Number not yet under the first key. Returns the count.

    Works in batches, each its own transaction, so a crash loses at most one batch of work and a
    second run continues where the first stopped.
    """
    keys = _keys()
    first_kid = vault.key_id(keys[0])
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Resident.objects.select_for_update()
                .filter(pk__gt=last_pk, mynumber_ciphertext__isnull=False)
                .order_by("pk")
                .only("pk", "resident_code", "mynumber_ciphertext", "mynumber_digest")[:batch_size]
            )
            if not rows:
                return done
            changed = []
            for row in rows:
                blob = bytes(row.mynumber_ciphertext)
                if vault.ciphertext_key_id(blob) == first_kid:
                    continue
                number = vault.decrypt(blob, keys=keys, associated=row.resident_code)
                row.mynumber_ciphertext = vault.encrypt(
                    number, keys=keys, associated=row.resident_code
                )
                row.mynumber_digest = vault.digest(number, secret=keys[0])
                changed.append(row)
            Resident.objects.bulk_update(changed, ["mynumber_ciphertext", "mynumber_digest"])
            done += len(changed)
            last_pk = rows[-1].pk
