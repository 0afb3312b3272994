"""gunicorn settings shared by `make run` (Procfile) and the container images.

The control socket (gunicornc) lives in this checkout's var/run/, not in ~/.gunicorn/, so two
checkouts on one machine, or two servers started from one checkout, never share it.
"""

import os

_var = os.environ.get("MACHIBA_VAR_DIR") or os.path.join(os.getcwd(), "var")
control_socket = os.environ.get(
    "GUNICORN_CONTROL_SOCKET",
    os.path.join(_var, "run", f"gunicorn-{os.environ.get('PORT', '8000')}.ctl"),
)
os.makedirs(os.path.dirname(control_socket), exist_ok=True)

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Four processes of four threads each, chosen by measurement (bench/README.md, "Pages", the
# gunicorn kinds side by side): a page mostly waits on PostgreSQL and Redis, so threads keep the
# cores busy with fewer processes than one sync worker per request would. With two processes of
# eight threads, wrk's sixteen connections were often split unevenly, and the busier process,
# one core at a time under its GIL, spent twice the CPU per request; four by four stayed even.
# Memory: about 205 MB per process.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Each request is logged by Django (cityhall/logs.py: JSON with the request id); gunicorn's own
# messages go to stderr.
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "cityhall.logs.JsonFormatter"}},
    "handlers": {
        "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
        "console": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
}


def child_exit(server, worker):
    # prometheus_client's multiprocess mode: a dead worker's live gauges must not linger.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
