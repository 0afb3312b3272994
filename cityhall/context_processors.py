from django.conf import settings

from . import navigation
from .roles import is_staff_member


def city(request):
    user = getattr(request, "user", None)
    return {
        "CITY_NAME": settings.CITY_NAME,
        "CITY_NAME_EN": settings.CITY_NAME_EN,
        "is_staff_member": bool(user and is_staff_member(user)),
        "portal_links": navigation.portal_links,
        # Only the tiles this user may open (evaluated when a template asks).
        "staff_links": lambda: navigation.staff_links_for(user) if user is not None else [],
    }
