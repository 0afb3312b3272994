"""Money in templates: yen with thousands separators (django.contrib.humanize is not installed)."""

from django import template

register = template.Library()


@register.filter
def comma(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""
