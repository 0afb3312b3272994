"""The Celery application and its beat schedule.

Configuration lives in Django settings under the CELERY_ prefix. The schedule of periodic jobs is
declared here, in one place, by task name: whoever loads this app (a worker, `celery beat`, a
test) sees the same schedule without Django's app registry having run any app's `ready()`.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityhall.settings")

app = Celery("cityhall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry expires before its next run would be due, so a beat that was down does not release a
# backlog of the same job at once when it returns.
BEAT_SCHEDULE = {
    # 地方税法 329条 ff.: demand notices (督促) and reminders (催告) for installments past due.
    "payments-nightly-arrears": {
        "task": "payments.nightly_arrears",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 60 * 60 * 6},
    },
    # 地方税法 326条: 延滞金 accrue by the day; recomputed each night after the arrears run.
    "payments-nightly-late-charges": {
        "task": "payments.nightly_late_charges",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 60 * 60 * 6},
    },
    # A provider's webhook may never arrive: pending card payments are asked for their status.
    "payments-sync-pending-payments": {
        "task": "payments.sync_pending_payments",
        "schedule": 60 * 15,
        "options": {"expires": 60 * 10},
    },
    # A batch run whose worker died holds no advisory lock any more: queue it again.
    "payments-resume-orphaned-batches": {
        "task": "payments.resume_orphaned_batches",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
    # Certificates that did not come out are queued again, then flagged (DESIGN.md §6).
    "procedures-retry-stuck": {
        "task": "procedures.retry_stuck_certificates",
        "schedule": 60 * 10,
        "options": {"expires": 60 * 9},
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE
