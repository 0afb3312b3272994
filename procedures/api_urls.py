"""API routes of procedures, mounted under /api/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("procedures", api.ProcedureViewSet, basename="procedure")
router.register("forms", api.FormDefinitionViewSet, basename="formdefinition")
router.register("applications", api.ApplicationViewSet, basename="application")

urlpatterns = router.urls
