"""Redis stops while the portal serves: pages keep working, /healthz says so, logins are refused
with a clear message, and when Redis returns everything recovers with no task lost or doubled."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest
from django.test import Client

from cityhall.models import Notification
from cityhall.tasks import deliver_notification
from factories import UserFactory
from ops_helpers import start_worker, stop_process, wait_for


def task_runs(log) -> Counter:
    """How often the worker log says each task id finished."""
    runs = Counter()
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line).get("message", "")
        if message.startswith("Task cityhall.deliver_notification[") and " succeeded " in message:
            runs[message.split("[", 1)[1].split("]", 1)[0]] += 1
    return runs


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_redis_down_pages_work_health_tells_logins_fail_closed_and_tasks_survive(
    private_redis, settings, tmp_path, resident_user
):
    queue = f"machiba-redisdown-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BROKER_URL = private_redis.url
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.CACHES = {
        "default": {
            "BACKEND": "cityhall.cache.DegradingRedisCache",
            "LOCATION": private_redis.cache_url,
            "KEY_PREFIX": queue,
            "OPTIONS": settings.CACHE_OPTIONS,
        }
    }
    from cityhall.celery import app

    log = tmp_path / "worker.log"
    env = {"REDIS_URL": private_redis.url}

    page = Client(raise_request_exception=False)
    page.force_login(resident_user)
    worker = start_worker(queue=queue, name="redisdown", log=log, env=env)
    try:
        assert wait_for(lambda: page.get("/healthz").status_code == 200, 60), page.get(
            "/healthz"
        ).content
        stop_process(worker)
        # Work queued while no worker runs, then Redis goes down with it in the queue.
        recipients = [UserFactory(role="resident") for _ in range(5)]
        notes = [
            Notification.objects.create(user=u, subject="停止試験", body="本文") for u in recipients
        ]
        with app.connection_for_write(private_redis.url) as connection:
            sent = [
                deliver_notification.apply_async(args=[n.pk], queue=queue, connection=connection).id
                for n in notes
            ]
        private_redis.stop()

        for path in ("/", "/my/", "/procedures/", "/livez"):
            assert page.get(path).status_code == 200, path
        health = page.get("/healthz")
        assert health.status_code == 503
        assert health.json()["down"] == ["redis"]
        assert health.json()["checks"]["database"] == "ok"
        # A web pod that reaches the database stays ready (the readiness probe's question).
        assert page.get("/healthz?part=database").status_code == 200

        login = Client(raise_request_exception=False).post(
            "/accounts/login/", {"login": resident_user.email, "password": "wrong-or-right"}
        )
        assert login.status_code == 503
        assert "ただいまログインと登録を受け付けられません" in login.content.decode()
        assert "_auth_user_id" not in login.client.session

        private_redis.start()
        worker = start_worker(queue=queue, name="redisback", log=log, env=env)
        assert wait_for(
            lambda: (
                Notification.objects.filter(
                    pk__in=[n.pk for n in notes], emailed_at__isnull=False
                ).count()
                == len(notes)
            ),
            60,
        ), "a task queued before Redis stopped was lost"
        assert wait_for(lambda: page.get("/healthz").status_code == 200, 60)
        assert page.get("/my/").status_code == 200
        stop_process(worker)
    finally:
        stop_process(worker)
    runs = task_runs(log)
    assert {task_id: runs[task_id] for task_id in sent} == {task_id: 1 for task_id in sent}
