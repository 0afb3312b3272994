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
