from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from facilities import api as facilities_api

from . import api, api_errors, metrics, views

# allauth's rate limits render through this (see cityhall.views.too_many_requests).
handler429 = views.too_many_requests

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("livez", views.live, name="live"),
    # The most read answer of the API (public availability), matched before the page routes
    # below rather than after them: resolving it was a third of a cached answer's CPU.
    path(
        "api/facilities/availability/",
        facilities_api.availability,
        name="facilities_api_availability",
    ),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("my/", views.my_dashboard, name="my_dashboard"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("staff/admin/django/", admin.site.urls),
    path("", include("residents.urls")),
    path("", include("gis.urls")),
    path("", include("payments.urls")),
    path("", include("procedures.urls")),
    path("", include("counter.urls")),
    path("", include("facilities.urls")),
    path("", include("taxes.urls")),
    path("", include("identity.urls")),
    path("", include("notices.urls")),
    path("api/me/", api.me, name="api_me"),
    path("api/", include("residents.api_urls")),
    path("api/", include("gis.api_urls")),
    path("api/", include("payments.api_urls")),
    path("api/", include("procedures.api_urls")),
    path("api/", include("counter.api_urls")),
    path("api/", include("facilities.api_urls")),
    path("api/", include("taxes.api_urls")),
    path("api/", include("notices.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    # Any other /api/ URL: the API's JSON 404 (also with DEBUG, where handler404 is not used).
    re_path(r"^api/", api_errors.page_not_found, name="api_not_found"),
]

if apps.is_installed("payments.sandbox"):
    urlpatterns.append(path("", include("payments.sandbox.urls")))

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

# JSON under /api/, the usual page elsewhere (cityhall/api_errors.py).
handler404 = "cityhall.api_errors.page_not_found"
