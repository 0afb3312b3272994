from django.urls import path

from . import views

app_name = "counter"
urlpatterns = [
    path("counter/kiosk/", views.kiosk, name="kiosk"),
    path("counter/tickets/<str:token>/", views.ticket_page, name="ticket"),
    path("counter/tickets/<str:token>/ticket.pdf", views.ticket_pdf_view, name="ticket_pdf"),
    path("counter/status/", views.status, name="status"),
    path("counter/status/board/", views.congestion_fragment, name="congestion_fragment"),
    path("counter/display/", views.display, name="display"),
    path("staff/counter/", views.desk_pick, name="desk_pick"),
    path("staff/counter/stats/", views.stats, name="stats"),
    path("staff/counter/stats.csv", views.stats_csv, name="stats_csv"),
    path("staff/counter/residents/", views.resident_search, name="resident_search"),
    path("staff/counter/residents/<int:resident_id>/", views.resident_360, name="resident_360"),
    path("staff/counter/<int:counter_id>/", views.desk, name="desk"),
    path("staff/counter/<int:counter_id>/waiting/", views.desk_waiting, name="desk_waiting"),
    path(
        "staff/counter/<int:counter_id>/tickets/<int:ticket_id>/residents/<int:resident_id>/link/",
        views.link_resident,
        name="link_resident",
    ),
    path("staff/counter/<int:counter_id>/<slug:action>/", views.desk_action, name="desk_action"),
]
