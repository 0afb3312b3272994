"""API routes of notices, mounted under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("notices/inbox/", api.my_inbox, name="notices_api_inbox"),
    path("notices/sends/", api.sends, name="notices_api_sends"),
    path("notices/sends/<int:pk>/", api.send_detail, name="notices_api_send"),
    path("notices/segments/count/", api.segment_count, name="notices_api_segment_count"),
]
