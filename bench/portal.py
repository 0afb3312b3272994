"""Portal throughput under gunicorn at concurrency 16, next to a bare "ok" view (the floor).

Load comes from wrk in a second process, on loopback only, bounded in time. The server runs with
production settings (DEBUG off) against a private database seeded by `seed_demo`.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request
from pathlib import Path

from _common import (
    ROOT,
    SERVER_ENV,
    bench_database,
    emit,
    gunicorn,
    proc_cpu_ticks,
    proc_status_kb,
    run_wrk,
)
from _profile import profile_request

CONCURRENCY = 16
# The pages' targets: each page's throughput against the bare view's in the same run (and the
# dashboard's p95), printed beside the figures so one run says which are met.
TARGETS = {
    "anonymous_home": (0.5, None),
    "resident_dashboard": (0.15, 150.0),
    "procedure_search": (0.3, None),
}


def page_urls() -> dict[str, tuple[str, bool]]:
    """Figure name → (path, needs login). Pages of apps not installed are left out."""
    from django.urls import NoReverseMatch, reverse

    pages = {
        "bare_ok_view": ("/livez", False),
        "anonymous_home": ("/", False),
        "resident_dashboard": ("/my/", True),
    }
    for name in ("procedures:search", "procedures:catalogue", "procedures:procedure_list"):
        try:
            pages["procedure_search"] = (reverse(name) + "?q=%E4%BD%8F%E6%B0%91%E7%A5%A8", False)
            break
        except NoReverseMatch:
            continue
    return pages


def run_server(args, *, workers: int, worker_class: str, threads: int, cookie: str, clients):
    """Start gunicorn of one kind, put each page under wrk, then profile each page once."""
    server_kind = f"{workers}x{worker_class}" + (f"x{threads}t" if threads > 1 else "")
    (ROOT / "var" / "static").mkdir(parents=True, exist_ok=True)
    with gunicorn(workers=workers, worker_class=worker_class, threads=threads) as base:
        wanted = {name for name in args.pages.split(",") if name}
        pages = {
            name: page
            for name, page in page_urls().items()
            if not wanted or name in wanted or name == "bare_ok_view"
        }
        # Every page once under load before any is measured: fresh workers import templates and
        # open connections on their first requests, and the bare view, measured first, would
        # otherwise pay for that (in one trial the floor read 480 req/s on four workers warmed
        # for one second, 1,400 after).
        for path, needs_login in pages.values():
            headers = (f"Cookie: {cookie}",) if needs_login else ()
            run_wrk(base + path, connections=CONCURRENCY, seconds=2, headers=headers)
        for name, (path, needs_login) in pages.items():
            request = urllib.request.Request(base + path)
            if needs_login:
                request.add_header("Cookie", cookie)
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status != 200 or response.url != base + path:
                    raise RuntimeError(f"{path} answered {response.status} at {response.url}")
            headers = (f"Cookie: {cookie}",) if needs_login else ()
            run_wrk(base + path, connections=CONCURRENCY, seconds=2, headers=headers)  # warm-up
            groups = cpu_groups(base.pid)
            before = cpu_seconds(groups)
            result = run_wrk(
                base + path, connections=CONCURRENCY, seconds=args.seconds, headers=headers
            )
            after = cpu_seconds(groups)
            seconds = result["duration_us"] / 1e6
            scale = f"c{CONCURRENCY} {server_kind}"
            emit(
                f"portal.{name}.throughput",
                result["requests"] / seconds,
                "req/s",
                scale,
                errors=result["errors"],
                non2xx=result["non2xx"],
            )
            emit(f"portal.{name}.p50", result["p50_us"] / 1000, "ms", scale)
            emit(f"portal.{name}.p95", result["p95_us"] / 1000, "ms", scale)
            throughput = result["requests"] / seconds
            # Machine time per request by process group, read from /proc before and after the
            # load: what a request costs whatever else the machine runs, and where it goes.
            spent = {group: after[group] - before[group] for group in after}
            emit(
                f"portal.{name}.cpu_per_request",
                sum(v for k, v in spent.items() if k != "machine_other")
                * 1000
                / result["requests"],
                "ms",
                scale,
                **{
                    f"{group}_ms": round(value * 1000 / result["requests"], 3)
                    for group, value in spent.items()
                },
            )
            if name == "bare_ok_view":
                floor = throughput
            elif name in TARGETS:
                ratio_target, p95_target = TARGETS[name]
                ratio = throughput / floor
                p95 = result["p95_us"] / 1000
                met = ratio >= ratio_target and (p95_target is None or p95 < p95_target)
                emit(
                    f"portal.{name}.ratio_to_bare_view",
                    ratio,
                    "ratio",
                    scale,
                    target=ratio_target,
                    p95_target_ms=p95_target,
                    met=met,
                    load_average=os.getloadavg()[0],
                )
            if clients is None:
                continue
            # Where the time goes: one request in this process after the load (same database
            # and settings as the server), its queries and top functions.
            client, anonymous = clients
            profile = profile_request(client if needs_login else anonymous, path)
            emit(f"portal.{name}.queries", profile.queries, "queries", "one request")
            for line in profile.lines():
                print(f"# {line}", flush=True)
        # Memory after the load: each worker's resident set (issue target: under 300 MB).
        rss = worker_rss_mb(base.pid)
        if rss:
            emit(
                "portal.web_worker.rss_max",
                max(rss),
                "MB",
                f"after the load, {server_kind}",
                workers=[round(value, 1) for value in rss],
                target_mb=300,
            )


def cpu_groups(master_pid: int) -> dict[str, int]:
    """The processes whose CPU a page costs: gunicorn's master, PostgreSQL's postmaster (its
    backends and helpers are its children) and redis-server; wrk is this process's child."""
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    redis_pid = cache._cache.get_client().info("server")["process_id"]
    return {"gunicorn": master_pid, "postgres": postmaster, "redis": int(redis_pid)}


def _process_tree_seconds(pid: int) -> float:
    """utime + stime of a process, of its live children, and of its reaped ones (cutime,
    cstime), in seconds: a backend that ends during the load still counts."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid]
    try:
        pids += Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        pass
    for index, each in enumerate(pids):
        total += proc_cpu_ticks(each, reaped_children=index == 0)
    return total / tick


def cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    spent = {group: _process_tree_seconds(pid) for group, pid in groups.items()}
    children = os.times()
    spent["wrk"] = children.children_user + children.children_system
    # Everything else the machine ran meanwhile (other sessions): busy time from /proc/stat
    # minus the groups above, so a figure from a shared machine says how shared it was.
    busy = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    machine = (sum(busy) - busy[3] - busy[4]) / os.sysconf("SC_CLK_TCK")
    spent["machine_other"] = machine - sum(spent.values())
    return spent


def worker_rss_mb(master_pid: int) -> list[float]:
    """VmRSS of each gunicorn worker (the master's children), in MB, from /proc."""
    sizes = []
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return sizes
    for pid in children:
        rss = proc_status_kb(pid, "VmRSS")
        if rss:
            sizes.append(rss / 1024)
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--residents", type=int, default=2000)
    # gunicorn kinds to measure, workers:class:threads each; the first is the one deploy/ and
    # the Procfile run (bench/README.md says how it was chosen).
    parser.add_argument("--servers", default="4:gthread:4")
    parser.add_argument("--pages", default="", help="comma-separated figure names (default all)")
    args = parser.parse_args()
    # The benchmark process and the server share these production-like settings (and so the
    # secret key that signs the session the load generator uses).
    os.environ.update(SERVER_ENV)
    with bench_database("portal"):
        from django.core.management import call_command
        from django.test import Client

        from cityhall.models import User

        call_command(
            "seed_demo", residents=args.residents, parcels=2000, stdout=open(os.devnull, "w")
        )
        # The server accepts only its own address as host (DJANGO_ALLOWED_HOSTS).
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(email="resident@demo.machiba.jp"))
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        anonymous = Client(HTTP_HOST="127.0.0.1")
        specs = [spec.split(":") for spec in args.servers.split(",") if spec]
        for index, (workers, worker_class, threads) in enumerate(specs):
            run_server(
                args,
                workers=int(workers),
                worker_class=worker_class,
                threads=int(threads),
                cookie=cookie,
                # One profile per page is enough (the same process answers it for every kind).
                clients=(client, anonymous) if index == 0 else None,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
