from django import template

from identity import platform

register = template.Library()


@register.simple_tag
def card_login_enabled() -> bool:
    """Whether a マイナンバーカード platform is configured (the buttons are shown only then)."""
    return platform.config().login_enabled


@register.simple_tag
def card_signing_enabled() -> bool:
    return platform.config().signing_enabled


@register.simple_tag
def has_security_key(user) -> bool:
    """Whether the person has registered a security key or passkey (WebAuthn)."""
    from identity.middleware import has_security_key as registered

    return user is not None and user.pk is not None and registered(user)
