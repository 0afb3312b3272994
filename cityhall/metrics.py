"""Prometheus metrics: what a city watches (see the README's alerts).

Request latency by view comes from django-prometheus' middleware. Celery task counts and
durations are observed in the worker (signals connected in cityhall/celery.py). Figures that live
in Redis or the database (queue length and age, worker heartbeat, batch-run progress) are read
when Prometheus scrapes, by collectors that apps above register here (payments registers its
batch runs), so nothing counts twice across processes.

With several processes (gunicorn workers, Celery's pool) prometheus_client's multiprocess mode
adds up their files in PROMETHEUS_MULTIPROC_DIR; `make run` points web and worker at one
folder, so /metrics shows both.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

logger = logging.getLogger("machiba.metrics")

CELERY_TASKS = Counter(
    "machiba_celery_tasks_total",
    "Celery tasks finished, by task and final state",
    ["task", "state"],
)
CELERY_TASK_SECONDS = Histogram(
    "machiba_celery_task_duration_seconds",
    "Run time of Celery tasks, by task",
    ["task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

# Header put on every task message when it is published, so the age of the oldest waiting
# message can be read from the queue without decoding its body.
SENT_AT_HEADER = "machiba_sent_at"

Collector = Callable[[], Iterable[Metric]]
_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Add a function returning metric families, called at each scrape (web process only)."""
    if collector not in _collectors:
        _collectors.append(collector)


def queue_metrics() -> Iterable[Metric]:
    from . import health

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    length = GaugeMetricFamily(
        "machiba_celery_queue_length", "Messages waiting in the Celery queue", labels=["queue"]
    )
    age = GaugeMetricFamily(
        "machiba_celery_queue_oldest_age_seconds",
        "Age of the oldest message waiting in the Celery queue (0 when empty)",
        labels=["queue"],
    )
    heartbeat = GaugeMetricFamily(
        "machiba_celery_worker_heartbeat_age_seconds",
        "Seconds since a worker consuming the queue last beat its heart",
        labels=["queue"],
    )
    up = GaugeMetricFamily("machiba_redis_up", "1 if the broker Redis answers")
    try:
        client = health.broker()
        length.add_metric([queue], client.llen(queue))
        # kombu pushes on the left and takes from the right: the oldest message is last.
        oldest = client.lindex(queue, -1)
        sent_at = json.loads(oldest)["headers"].get(SENT_AT_HEADER) if oldest else None
        age.add_metric([queue], max(0.0, time.time() - float(sent_at)) if sent_at else 0.0)
        seen = health.last_heartbeat(queue)
        if seen is not None:
            heartbeat.add_metric([queue], max(0.0, time.time() - seen))
        up.add_metric([], 1)
    except Exception as exc:  # a scrape must still answer, saying Redis is down
        logger.warning("queue metrics unavailable: %s", exc)
        up.add_metric([], 0)
        return [up]
    return [length, age, heartbeat, up]


class _ScrapeTimeCollector:
    def collect(self) -> Iterable[Metric]:
        yield from queue_metrics()
        for collector in _collectors:
            try:
                yield from collector()
            except Exception as exc:  # one broken source must not hide the others
                logger.warning("metrics collector %s failed: %s", collector.__name__, exc)


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return registry


def exposition() -> bytes:
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTimeCollector())
    return generate_latest(registry()) + generate_latest(scrape)


def metrics_allowed(remote_addr: str | None) -> bool:
    """/metrics answers only the staff network (loopback when no staff network is set)."""
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    networks = settings.METRICS_ALLOWED_NETWORKS
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def metrics_view(request):
    if not metrics_allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponse(status=404)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
