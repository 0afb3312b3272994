"""The Celery application and its beat schedule.

Configuration lives in Django settings under the CELERY_ prefix. The schedule of periodic jobs is
declared here, in one place, by task name: whoever loads this app (a worker, `celery beat`, a
test) sees the same schedule without Django's app registry having run any app's `ready()`.
"""

import logging
import os
import time

from celery import Celery, bootsteps, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityhall.settings")

logger = logging.getLogger("machiba.celery")

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
    # An assessment run whose worker died is queued again from its cursor.
    "taxes-resume-orphaned-runs": {
        "task": "taxes.resume_orphaned_runs",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
    # Facilities: a slot held while paying is freed when the hold runs out; an unpaid booking or
    # an unconfirmed lottery win lapses; lottery rounds open, close and publish on their days;
    # group registrations expire after their term.
    "facilities-expire-holds": {
        "task": "facilities.expire_holds",
        "schedule": 60,
        "options": {"expires": 50},
    },
    "facilities-lapse-unpaid": {
        "task": "facilities.lapse_unpaid",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
    "facilities-advance-rounds": {
        "task": "facilities.advance_rounds",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
    "facilities-expire-registrations": {
        "task": "facilities.expire_registrations",
        "schedule": crontab(hour=0, minute=10),
        "options": {"expires": 60 * 60 * 6},
    },
    # A week before a due date, payers are told (notices: inbox, e-mail or LINE as they chose).
    "payments-announce-due-installments": {
        "task": "payments.announce_due_installments",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 60 * 60 * 6},
    },
    # Notices, every minute: start due sends, retry, end quiet hours, close finished sends.
    "notices-tick": {
        "task": "notices.tick",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # Form versions scheduled for a date go live within five minutes of its start.
    "procedures-publish-due-forms": {
        "task": "procedures.publish_due_forms",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Every few seconds the worker writes a heartbeat key per queue it consumes, which expires
    on its own: /healthz and the metrics read them to tell whether any worker is alive."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        from .health import HEARTBEAT_EVERY

        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(HEARTBEAT_EVERY, self.beat, (worker,), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def beat(self, worker):
        from .health import record_heartbeat

        try:
            queues = sorted(worker.app.amqp.queues.consume_from or {})
            record_heartbeat(queues=queues, worker=worker.hostname)
        except Exception as exc:  # Redis away: the next beat tries again
            logger.warning("worker heartbeat not recorded: %s", exc)


app.steps["worker"].add(WorkerHeartbeat)

_task_started: dict[str, float] = {}


@signals.before_task_publish.connect
def _stamp_sent_at(headers=None, **kwargs):
    from .metrics import SENT_AT_HEADER

    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


@signals.task_prerun.connect
def _task_started_at(task_id=None, **kwargs):
    _task_started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    from .metrics import CELERY_TASK_SECONDS, CELERY_TASKS

    started = _task_started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    CELERY_TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        CELERY_TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)


@signals.worker_process_shutdown.connect
def _pool_process_gone(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@signals.worker_ready.connect
def _serve_worker_metrics(**kwargs):
    # In Kubernetes each worker pod is scraped on its own port (the web pods cannot see its
    # metric files); `make run` shares one folder with the web server instead.
    port = os.environ.get("MACHIBA_WORKER_METRICS_PORT")
    if port:
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            start_http_server(int(port), registry=registry)
        else:
            start_http_server(int(port))
