"""Batch runs as Prometheus sees them: how many in each state, and how far the running ones are.

Read from the BatchRun rows at each scrape (cityhall.metrics registry), so every web server
reports the same figures whichever worker runs the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from .models import BatchRun


def batch_run_metrics() -> Iterable[Metric]:
    runs = GaugeMetricFamily(
        "machiba_batch_runs",
        "Batch runs created in the last 7 days, by kind and state",
        labels=["kind", "state"],
    )
    since = timezone.now() - timedelta(days=7)
    for row in (
        BatchRun.objects.filter(created_at__gte=since)
        .values("kind", "state")
        .annotate(n=Count("id"))
        .order_by("kind", "state")
    ):
        runs.add_metric([row["kind"], row["state"]], row["n"])
    progress = GaugeMetricFamily(
        "machiba_batch_run_progress_ratio",
        "Share of the records a running batch run has processed",
        labels=["run", "kind"],
    )
    running = BatchRun.objects.filter(state=BatchRun.State.RUNNING).values(
        "pk", "kind", "processed", "total"
    )
    for run in running:
        ratio = run["processed"] / run["total"] if run["total"] else 0.0
        progress.add_metric([str(run["pk"]), run["kind"]], ratio)
    return [runs, progress]
