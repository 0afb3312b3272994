"""Machiba's project package: settings, URLs, the Celery app and the shared core.

Owns the shared core every business app stands on: accounts and roles, the audit log,
notifications, base templates, and small helpers for money, Japanese text and dates, and the
registries the apps above fill (navigation, dashboard panels, events), and the AppendOnly
migration operation every history table is declared with.

May import: no app of Machiba. Every other app may import it.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
