"""The payments app wires itself in loudly: its periodic jobs are on the beat schedule."""

from cityhall.celery import app


def test_the_collection_jobs_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {
        "payments.nightly_arrears",
        "payments.sync_pending_payments",
        "payments.resume_orphaned_batches",
        "payments.nightly_late_charges",
    } <= tasks
