"""API routes of residents, mounted under /api/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
