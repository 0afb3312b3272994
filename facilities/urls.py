from django.urls import path

from . import staff_views, views

app_name = "facilities"
urlpatterns = [
    path("facilities/", views.search, name="search"),
    path("facilities/lottery/", views.rounds, name="rounds"),
    path("facilities/lottery/draw.py", views.draw_script, name="draw_script"),
    path("facilities/lottery/<str:code>/", views.round_page, name="round"),
    path(
        "facilities/lottery/<str:code>/entries.json", views.round_entries_file, name="round_entries"
    ),
    path(
        "facilities/lottery/<str:code>/results.json", views.round_results_file, name="round_results"
    ),
    path("facilities/lottery/<str:code>/verify/", views.round_verify, name="round_verify"),
    path("facilities/lottery/<str:code>/enter/", views.enter, name="enter"),
    path("facilities/photos/<int:pk>/", views.photo, name="photo"),
    path("facilities/calendar/<str:token>.ics", views.ical_feed, name="ical_feed"),
    path("facilities/units/<slug:code>/book/", views.book, name="book"),
    path("facilities/<slug:code>/", views.facility_page, name="facility"),
    path("my/facilities/", views.my_bookings, name="my_bookings"),
    path("my/facilities/calendar.ics", views.my_calendar, name="my_calendar"),
    path("my/facilities/registrations/", views.registrations_page, name="registrations"),
    path("my/facilities/registrations/group/", views.group_new, name="group_new"),
    path("my/facilities/series/new/", views.series_new, name="series_new"),
    path("my/facilities/series/<int:pk>/", views.series_page, name="series"),
    path("my/facilities/bookings/<int:pk>/", views.booking_page, name="booking"),
    path("my/facilities/bookings/<int:pk>/pay/", views.booking_pay, name="booking_pay"),
    path(
        "my/facilities/bookings/<int:pk>/pay-later/",
        views.booking_pay_later,
        name="booking_pay_later",
    ),
    path("my/facilities/bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("my/facilities/bookings/<int:pk>/confirm-win/", views.confirm_win, name="confirm_win"),
    path("my/facilities/entries/<int:pk>/withdraw/", views.entry_withdraw, name="entry_withdraw"),
    # staff
    path("staff/facilities/", staff_views.home, name="staff_home"),
    path(
        "staff/facilities/registrations/",
        staff_views.registrations_list,
        name="staff_registrations",
    ),
    path(
        "staff/facilities/registrations/<int:pk>/",
        staff_views.registration_detail,
        name="staff_registration",
    ),
    path("staff/facilities/bookings/<int:pk>/", staff_views.booking_detail, name="staff_booking"),
    path(
        "staff/facilities/bookings/<int:pk>/<slug:action>/",
        staff_views.booking_action,
        name="staff_booking_action",
    ),
    path("staff/facilities/lottery/", staff_views.rounds, name="staff_rounds"),
    path("staff/facilities/lottery/<str:code>/", staff_views.round_detail, name="staff_round"),
    path(
        "staff/facilities/lottery/<str:code>/<slug:action>/",
        staff_views.round_action,
        name="staff_round_action",
    ),
    path("staff/facilities/refunds/", staff_views.refunds, name="staff_refunds"),
    path(
        "staff/facilities/refunds/<int:pk>/<slug:action>/",
        staff_views.refund_action,
        name="staff_refund_action",
    ),
    path("staff/facilities/stats/", staff_views.stats, name="staff_stats"),
    path("staff/facilities/stats.csv", staff_views.stats_csv, name="staff_stats_csv"),
    path("staff/facilities/<slug:code>/week/", staff_views.week, name="staff_week"),
    path("staff/facilities/<slug:code>/block/", staff_views.block, name="staff_block"),
    path("staff/facilities/<slug:code>/check-in/", staff_views.checkin, name="staff_checkin"),
]
