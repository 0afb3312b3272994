"""Machiba's project package: settings, URLs, the Celery app and the shared core.

The shared core is what every business app stands on: accounts and roles, the audit log,
notifications, base templates, and small helpers for money, Japanese text and dates.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
