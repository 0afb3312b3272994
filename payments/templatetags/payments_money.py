"""Money in templates: yen with thousands separators (django.contrib.humanize is not installed)."""

from django import template
from django.utils.translation import get_language, gettext

register = template.Library()


@register.filter
def comma(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def yen_or_pending(value) -> str:
    """A late charge with separators, or "not yet fixed" while its year has no rate."""
    if value is None:
        return gettext("未確定")
    return comma(value)


@register.filter
def revenue_name(revenue) -> str:
    """A revenue's name in the page's language."""
    return revenue.name_for(get_language()) if revenue is not None else ""
