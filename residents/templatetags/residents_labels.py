from django import template

from residents.relationships import relationship_label

register = template.Library()


@register.filter
def relationship(value: str) -> str:
    """{{ member.relationship|relationship }}: 妻 / Wife."""
    return relationship_label(value or "")
