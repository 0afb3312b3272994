"""API routes of facilities, mounted under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("facilities/", api.facility_list, name="facilities_api_list"),
    # facilities/availability/ is routed in cityhall/urls.py, ahead of the pages (its speed).
    path("facilities/rounds/", api.round_list, name="facilities_api_rounds"),
    path("facilities/rounds/<str:code>/", api.round_detail, name="facilities_api_round"),
    path("facilities/rounds/<str:code>/entries/", api.enter, name="facilities_api_enter"),
    path("facilities/my/registrations/", api.my_registrations, name="facilities_api_registrations"),
    path("facilities/my/bookings/", api.my_bookings, name="facilities_api_bookings"),
    path("facilities/my/bookings/<int:pk>/", api.my_booking, name="facilities_api_booking"),
    path(
        "facilities/my/bookings/<int:pk>/<slug:action>/",
        api.my_booking_action,
        name="facilities_api_booking_action",
    ),
    path("facilities/my/entries/", api.my_entries, name="facilities_api_entries"),
    path("facilities/my/series/", api.my_series, name="facilities_api_series"),
    path(
        "facilities/staff/registrations/",
        api.staff_registrations,
        name="facilities_api_staff_registrations",
    ),
    path(
        "facilities/staff/check-in/<slug:code>/",
        api.staff_checkin,
        name="facilities_api_staff_checkin",
    ),
    path("facilities/staff/refunds/", api.staff_refunds, name="facilities_api_staff_refunds"),
    path(
        "facilities/staff/refunds/<int:pk>/<slug:action>/",
        api.staff_refund_action,
        name="facilities_api_staff_refund_action",
    ),
    path("facilities/staff/week/<slug:code>/", api.staff_week, name="facilities_api_staff_week"),
    path(
        "facilities/staff/registrations/<int:pk>/decision/",
        api.staff_decide,
        name="facilities_api_staff_decide",
    ),
    path("facilities/staff/blocks/", api.staff_block, name="facilities_api_staff_block"),
    path(
        "facilities/staff/bookings/<int:pk>/<slug:action>/",
        api.staff_booking_action,
        name="facilities_api_staff_booking_action",
    ),
    path("facilities/staff/rounds/<str:code>/", api.staff_round, name="facilities_api_staff_round"),
    path(
        "facilities/staff/rounds/<str:code>/<slug:action>/",
        api.staff_round_action,
        name="facilities_api_staff_round_action",
    ),
    path("facilities/staff/usage/", api.staff_usage, name="facilities_api_staff_usage"),
    path("facilities/<slug:code>/", api.facility_detail, name="facilities_api_detail"),
]
