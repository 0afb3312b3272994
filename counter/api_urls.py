"""API routes of counter, mounted under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("counter/status/", api.congestion, name="counter_api_status"),
    path(
        "counter/counters/<int:counter_id>/call-next/",
        api.call_next,
        name="counter_api_call_next",
    ),
    path("counter/tickets/<int:ticket_id>/transfer/", api.transfer, name="counter_api_transfer"),
    path(
        "counter/tickets/<int:ticket_id>/<str:action>/",
        api.ticket_action,
        name="counter_api_ticket_action",
    ),
]
