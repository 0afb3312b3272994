"""The benchmark's page profile, sessions read from Redis, and
the /my/ panels served from Redis while nothing they show has changed.

That a cached panel is never stale after a change is proved panel by panel, next to each app's
tests (test_<app>_dashboard_fresh.py in payments, residents, procedures, notices, facilities,
gis)."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from factories_payments import make_charge, make_resident

from cityhall.models import User

pytestmark = pytest.mark.django_db


def _bench_profile_module():
    path = settings.BASE_DIR / "bench" / "_profile.py"
    spec = importlib.util.spec_from_file_location("bench_profile", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_profile"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_profiles_a_page_its_queries_and_top_functions(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    profile = _bench_profile_module().profile_request(client, "/my/", top=10, warm=False)
    assert profile.status == 200
    # Not cached yet (warm=False): the panels read their rows.
    assert profile.queries >= 5
    assert any("payments_installment" in sql for sql in profile.sql)
    assert len(profile.top) == 10
    cumulative = [row[2] for row in profile.top]
    assert cumulative == sorted(cumulative, reverse=True) and cumulative[0] > 0
    # The wrappers every request goes through (client, handler, middleware) are left out.
    assert not [name for name, *_ in profile.top if "middleware" in name or "handlers/" in name]
    text = "\n".join(profile.lines())
    assert f"{profile.queries} queries" in text and "cumulative ms" in text


def _sql(response_fn):
    with CaptureQueriesContext(connection) as queries:
        response = response_fn()
    return response, [q["sql"] for q in queries.captured_queries]


def test_sessions_are_read_from_redis_and_a_logout_ends_them_everywhere(client, resident_user):
    client.force_login(resident_user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.get("/my/")
    response, sql = _sql(lambda: client.get("/my/"))
    assert response.status_code == 200
    assert not [q for q in sql if "django_session" in q], sql
    # Written through: the table has it too (a Redis restart does not sign anyone out).
    assert Session.objects.filter(session_key=key).exists()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    assert cache.get("django.contrib.sessions.cached_db" + key) is not None
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert cache.get("django.contrib.sessions.cached_db" + key) is None
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/my/").status_code == 302


def test_an_unchanged_dashboard_reads_one_statement_for_all_its_panels(client, resident_user):
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    first, first_sql = _sql(lambda: client.get("/my/"))
    again, again_sql = _sql(lambda: client.get("/my/"))
    csrf = r'name="csrfmiddlewaretoken" value="[^"]*"'
    assert re.sub(csrf, "", first.content.decode()) == re.sub(csrf, "", again.content.decode())
    assert "12,000" in again.content.decode()
    # The user and the user's roles come from Redis (cityhall.authcache); one statement reads
    # every panel's fingerprints; no panel reads its rows.
    assert len(again_sql) == 1, [q[:120] for q in again_sql]
    statement = _prepared_text(again_sql[-1])
    assert "cityhall_notification" in statement and "md5(" in statement
    assert len(first_sql) > len(again_sql) + 3
    for table in ("payments_installment", "residents_resident", "procedures_application"):
        assert not [q for q in again_sql if f'"{table}"' in q], table


def _prepared_text(sql: str) -> str:
    """The statement's own text, or, for an EXECUTE of a prepared statement, what was prepared."""
    found = re.match(r"EXECUTE (\w+)\(", sql)
    if found is None:
        return sql
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE name = %s", [found.group(1)]
        )
        return cursor.fetchone()[0]


# Committed data (transaction=True): the test closes its connection, as a restarted worker would.
@pytest.mark.django_db(transaction=True)
def test_the_fingerprints_are_planned_once_per_connection(client, resident_user):
    """Planning the fingerprint statement cost more than running it (8-13 ms against 1-3 ms):
    it is PREPAREd once per connection and then only EXECUTEd, and a new connection (a worker
    restarted, CONN_MAX_AGE over) prepares it again without an error."""
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    client.get("/my/")
    response, sql = _sql(lambda: client.get("/my/"))
    assert response.status_code == 200 and "12,000" in response.content.decode()
    assert len(sql) == 1 and sql[0].startswith("EXECUTE machiba_dash_"), sql
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'machiba_dash_%%'"
        )
        assert cursor.fetchone()[0] == 1
    # A new connection knows no prepared statement: it is prepared again on it.
    connection.close()
    make_charge(payer, fiscal_year=2026, parts=[(date(2030, 7, 31), 3_400)])
    response, sql = _sql(lambda: client.get("/my/"))
    assert response.status_code == 200 and "15,400" in response.content.decode()
    assert sql[0].startswith("PREPARE machiba_dash_") and sql[1].startswith("EXECUTE"), sql


def test_web_connections_are_kept_between_requests_by_default():
    """A connection per request cost a backend start and cold catalogue caches, the most of a
    one-query page's time; production's default keeps it (DATABASE_CONN_MAX_AGE overrides)."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"}
    env.update(
        DJANGO_SETTINGS_MODULE="cityhall.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Q9!kLm2#pZ" * 4,
        DJANGO_ALLOWED_HOSTS="city.example.jp",
        MACHIBA_MYNUMBER_KEYS="production-key-from-the-environment-0001",
    )
    code = (
        "from cityhall import settings; d = settings.DATABASES['default'];"
        " print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    max_age, health_checks = result.stdout.split()
    assert int(max_age) >= 60 and health_checks == "True"


def test_the_cache_keeps_one_redis_client_instead_of_one_per_call():
    """Django's Redis cache built a new client (copying ~170 response callbacks) on every call,
    as much CPU as the round trip; one kept per pool serves every call, reads and writes."""
    cache = caches["default"]
    client = cache._cache.get_client("k", write=True)
    assert cache._cache.get_client("other") is client
    cache.set("kept-client-probe", {"a": 1}, 30)
    assert cache.get("kept-client-probe") == {"a": 1}
    assert cache.get_many(["kept-client-probe"]) == {"kept-client-probe": {"a": 1}}
    assert cache._cache.get_client("k") is client


def test_a_second_resident_never_sees_the_firsts_panels(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    other = User.objects.create_user(email="other-dash@example.jp", password="x" * 12)
    make_charge(make_resident(user=other), parts=[(date(2030, 6, 30), 34_000)])
    client.force_login(resident_user)
    assert "12,000" in client.get("/my/").content.decode()
    client.force_login(other)
    body = client.get("/my/").content.decode()
    assert "34,000" in body and "12,000" not in body


def test_the_english_dashboard_is_cached_apart_from_the_japanese(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    assert "未納額" in client.get("/my/").content.decode()
    english = client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "未納額" not in english


def _token(body: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)


def test_the_anonymous_home_is_served_from_redis_with_each_visitors_own_token(client):
    from django.test import Client
    from django.urls import reverse

    caches["default"].clear()  # the stored home of an earlier test or run
    first = client.get("/")
    assert first.status_code == 200 and first.templates  # rendered
    visitor = Client(enforce_csrf_checks=True)
    again = visitor.get("/")
    assert again.status_code == 200 and not again.templates  # from Redis, not rendered
    assert again.content.decode().count("ホーム") == first.content.decode().count("ホーム")
    assert "Cookie" in again["Vary"] and "Accept-Language" in again["Vary"]
    # Every security header is still there, and no browser or proxy keeps the page.
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert again["X-Frame-Options"] == "DENY" and "no-store" in again["Cache-Control"]
    # The token in the stored page is this visitor's: the language switch works.
    token = _token(again.content.decode())
    assert token != _token(first.content.decode())
    switched = visitor.post(
        reverse("set_language"), {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert switched.status_code == 302
    english = visitor.get("/")
    assert english.templates and "Home" in english.content.decode()  # its own key, rendered
    assert "Home" in visitor.get("/").content.decode()


def test_a_signed_in_person_and_a_pending_message_get_a_rendered_home(client, resident_user):
    client.get("/")
    assert not client.get("/").templates  # stored
    client.cookies["messages"] = "x"
    assert client.get("/").templates
    del client.cookies["messages"]
    client.force_login(resident_user)
    response = client.get("/")
    assert response.templates and "ログアウト" in response.content.decode()


def test_a_cached_procedure_search_shows_an_admins_rename_at_once(client):
    from factories_procedures import make_procedure

    from procedures import services as procedure_services

    procedure = make_procedure(slug="juminhyo-cache", name_ja="住民票の写しの交付請求")
    path = "/procedures/?q=%E4%BD%8F%E6%B0%91%E7%A5%A8"
    assert "住民票の写しの交付請求" in client.get(path).content.decode()
    cached, sql = _sql(lambda: client.get(path))
    assert not cached.templates and len(sql) == 1  # the catalogue's version, nothing else
    procedure.name_ja = "住民票の写し（改）"
    procedure_services.save_procedure(procedure=procedure)
    body = client.get(path).content.decode()
    assert "住民票の写し（改）" in body and "住民票の写しの交付請求" not in body
    # Signed in, the result list is a shared fragment under the same version.
    from factories import UserFactory

    client.force_login(UserFactory(role="resident"))
    assert "住民票の写し（改）" in client.get(path).content.decode()


def test_the_benchmark_reads_each_web_workers_resident_memory():
    """bench/portal.py prints the web workers' RSS after the load (the master's children)."""
    import subprocess

    sys.path.insert(0, str(settings.BASE_DIR / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_portal", settings.BASE_DIR / "bench" / "portal.py"
        )
        portal = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(portal)
    finally:
        sys.path.remove(str(settings.BASE_DIR / "bench"))
    # A parent with two children, one of which holds ~40 MB.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "a = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
            "b = subprocess.Popen([sys.executable, '-c',"
            " 'import time; x = bytearray(40 * 2**20); time.sleep(30)'])\n"
            "time.sleep(30)\n",
        ]
    )
    try:
        deadline = time.monotonic() + 20
        sizes: list[float] = []
        while time.monotonic() < deadline:
            sizes = portal.worker_rss_mb(parent.pid)
            if len(sizes) == 2 and max(sizes) > 40:
                break
            time.sleep(0.2)
        assert len(sizes) == 2, sizes
        assert 40 < max(sizes) < 100 and 0 < min(sizes) < 40, sizes
    finally:
        for child in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split():
            subprocess.run(["kill", child], check=False)
        parent.kill()
        parent.wait()
