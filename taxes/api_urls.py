"""API routes of taxes, mounted under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("taxes/simulate/", api.simulate, name="taxes_api_simulate"),
    path("taxes/my/assessments/", api.my_assessments, name="taxes_api_my_assessments"),
    path("taxes/assessments/", api.assessments, name="taxes_api_assessments"),
    path("taxes/runs/<int:pk>/", api.run, name="taxes_api_run"),
]
