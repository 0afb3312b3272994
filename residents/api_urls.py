"""API routes of residents, mounted under /api/."""

from rest_framework.routers import SimpleRouter

from .api import ResidentViewSet

router = SimpleRouter()
router.register("residents", ResidentViewSet, basename="resident")

urlpatterns = router.urls
