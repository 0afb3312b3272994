from django.urls import path

from . import views

app_name = "gis"
urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("garbage/", views.garbage_page, name="garbage"),
    path("garbage/<str:code>.ics", views.garbage_ics, name="garbage_ics"),
    path("gis/tiles/<slug:slug>/<int:z>/<int:x>/<int:y>.pbf", views.tile, name="tile"),
    path("gis/layers/<slug:slug>.geojson", views.layer_geojson, name="layer_geojson"),
    path("staff/map/", views.staff_map, name="staff_map"),
    path("staff/map/at/", views.staff_map_at, name="staff_map_at"),
    path("staff/gis/layers/", views.staff_layers, name="staff_layers"),
    path(
        "staff/gis/layers/<slug:slug>.geojson", views.staff_layer_export, name="staff_layer_export"
    ),
    path("staff/gis/unresolved/", views.staff_unresolved, name="staff_unresolved"),
]
