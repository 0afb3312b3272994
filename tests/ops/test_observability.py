"""/healthz tells the truth, /metrics answers the staff network only, and logs are JSON lines
whose request id follows a web request into the Celery task it started."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from factories_payments import make_resident
from prometheus_client import CollectorRegistry, multiprocess

from cityhall import health
from factories import UserFactory
from ops_helpers import start_worker, stop_process, wait_for
from payments.models import StatementDocument
from payments.tasks import render_statement


@pytest.fixture
def own_redis(private_redis, settings):
    """Broker, heartbeats and cache on a Redis of this test's own, under a queue of its own."""
    queue = f"machiba-obs-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BROKER_URL = private_redis.url
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    return private_redis, queue


@pytest.mark.django_db
def test_healthz_names_a_worker_whose_heartbeat_is_old_or_missing(own_redis):
    redis_server, queue = own_redis
    client = Client(raise_request_exception=False)
    missing = client.get("/healthz")
    assert missing.status_code == 503
    assert missing.json()["down"] == ["worker"]
    assert "no worker heartbeat" in missing.json()["checks"]["worker"]

    health.record_heartbeat(queues=[queue], worker="w1@test", client=redis_server.client())
    assert client.get("/healthz").json() == {
        "status": "ok",
        "down": [],
        "checks": {"database": "ok", "redis": "ok", "worker": "ok"},
    }
    redis_server.client().set(f"machiba:heartbeat:{queue}:w1@test", time.time() - 300)
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.json()["down"] == ["worker"]
    assert client.get("/livez").status_code == 200


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_cannot_be_reached(own_redis, settings, monkeypatch):
    from django.db import connection

    health.record_heartbeat(queues=[own_redis[1]], worker="w1@test", client=own_redis[0].client())
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")  # nothing listens there
    connection.close()
    try:
        response = Client(raise_request_exception=False).get("/healthz")
    finally:
        monkeypatch.undo()
        connection.close()
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]


@pytest.mark.django_db
def test_metrics_answer_the_staff_network_only(own_redis, settings):
    client = Client()
    client.get("/")
    local = client.get("/metrics")
    assert local.status_code == 200
    text = local.content.decode()
    assert (
        'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="home"}'
        in text
    )
    assert f'machiba_celery_queue_length{{queue="{own_redis[1]}"}} 0.0' in text
    assert "machiba_redis_up 1.0" in text
    assert "machiba_batch_runs" in text

    assert Client(REMOTE_ADDR="203.0.113.5").get("/metrics").status_code == 404
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert Client(REMOTE_ADDR="10.20.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_request_id_reaches_the_task_and_worker_metrics_count_it(tmp_path, monkeypatch):
    queue = f"machiba-obs-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(
        render_statement, "delay", lambda pk: render_statement.apply_async(args=[pk], queue=queue)
    )
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    log = tmp_path / "worker.log"
    worker = start_worker(
        queue=queue, name="obs", log=log, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    )
    try:
        user = UserFactory(role="resident")
        make_resident(user=user)
        client = Client()
        client.force_login(user)
        response = client.post(reverse("payments:statement_pdf_request"))
        assert response.status_code == 302
        request_id = response["X-Request-ID"]
        assert len(request_id) == 32
        assert wait_for(
            lambda: StatementDocument.objects.filter(state=StatementDocument.State.READY).exists(),
            90,
        ), log.read_text()[-3000:]
    finally:
        stop_process(worker)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    done = [
        line
        for line in lines
        if line["message"].startswith("Task payments.render_statement[")
        and "succeeded" in line["message"]
    ]
    assert len(done) == 1
    assert done[0]["request_id"] == request_id
    # WeasyPrint's progress lines stay out of the log.
    assert not any("Step 2 - Fetching and parsing CSS" in line["message"] for line in lines)

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    labels = {"task": "payments.render_statement", "state": "SUCCESS"}
    assert registry.get_sample_value("machiba_celery_tasks_total", labels) == 1
    assert (
        registry.get_sample_value(
            "machiba_celery_task_duration_seconds_count", {"task": "payments.render_statement"}
        )
        == 1
    )
