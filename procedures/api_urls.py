"""API routes of procedures, mounted under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("procedures", api.ProcedureViewSet, basename="procedure")
router.register("forms", api.FormDefinitionViewSet, basename="formdefinition")
router.register("applications", api.ApplicationViewSet, basename="application")

urlpatterns = [
    *router.urls,
    path("postal-codes/<str:code>/", api.PostalCodeView.as_view(), name="postal-code-detail"),
]
