"""The payments app wires itself in loudly: its periodic jobs are on the beat schedule."""

from django.conf import settings


def test_the_collection_jobs_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "payments.nightly_arrears",
        "payments.sync_pending_payments",
        "payments.resume_orphaned_batches",
        "payments.nightly_late_charges",
    } <= tasks
