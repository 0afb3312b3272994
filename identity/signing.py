"""What happens once something is signed: a small registry the owning apps fill.

identity knows how to get and check a signature; it does not know what an application is. An
app above it (procedures) registers, for the prefix of its origin keys ("procedures.application:"),
the function that relies on the signature, e.g. submits the application. That function may
refuse by raising ValidationError (the application changed since it was signed, the signer is
not the applicant); then the signature is not stored either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SignedHook:
    prefix: str
    # on_signed(*, origin: str, signature: Signature, actor) -> None; raises ValidationError.
    on_signed: Callable[..., None]
    # Where a resident who cannot sign learns how else to get it (the counter, …); "" if none.
    help_url: Callable[[str], str] = lambda origin: ""


_hooks: dict[str, SignedHook] = {}


def register(hook: SignedHook) -> None:
    _hooks[hook.prefix] = hook


def hook_for(origin: str) -> SignedHook:
    for prefix, hook in _hooks.items():
        if origin.startswith(prefix):
            return hook
    raise ImproperlyConfigured(f"nothing is registered for signatures on {origin!r}")
