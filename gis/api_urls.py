"""API routes of gis, mounted under /api/."""

from django.urls import path

from . import api

app_name = "gis_api"
urlpatterns = [
    path("gis/layers/", api.layers, name="layers"),
    path("gis/layers/<slug:slug>/features/", api.features, name="features"),
    path("gis/point/", api.point, name="point"),
    path("gis/geocode/", api.geocode, name="geocode"),
]
