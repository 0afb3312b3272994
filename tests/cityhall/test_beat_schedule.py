"""The beat schedule is declared once, in cityhall/celery.py, by task name."""

from __future__ import annotations

import json
import subprocess
import sys

from cityhall.celery import BEAT_SCHEDULE, app
from workers import ROOT

EXPECTED = {
    "payments-nightly-arrears": "payments.nightly_arrears",
    "payments-nightly-late-charges": "payments.nightly_late_charges",
    "payments-sync-pending-payments": "payments.sync_pending_payments",
    "payments-resume-orphaned-batches": "payments.resume_orphaned_batches",
    "procedures-retry-stuck": "procedures.retry_stuck_certificates",
    "taxes-resume-orphaned-runs": "taxes.resume_orphaned_runs",
    "facilities-expire-holds": "facilities.expire_holds",
    "facilities-lapse-unpaid": "facilities.lapse_unpaid",
    "facilities-advance-rounds": "facilities.advance_rounds",
    "facilities-expire-registrations": "facilities.expire_registrations",
    "payments-announce-due-installments": "payments.announce_due_installments",
    "notices-tick": "notices.tick",
    "procedures-publish-due-forms": "procedures.publish_due_forms",
}


def test_celery_beat_sees_the_whole_schedule_without_django_app_ready():
    # `celery -A cityhall beat` loads the app before Django's app registry is ready; the schedule
    # must not depend on an app's ready() having patched settings.
    script = (
        "import json; from cityhall.celery import app; "
        "print(json.dumps({k: v['task'] for k, v in app.conf.beat_schedule.items()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == EXPECTED


def test_every_scheduled_task_is_a_registered_task():
    app.loader.import_default_modules()
    registered = set(app.tasks)
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in registered, entry["task"]
    assert app.conf.beat_schedule == BEAT_SCHEDULE
