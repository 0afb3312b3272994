"""Horizontal scale on one machine: two gunicorn servers and two Celery workers, with production
settings, on the same PostgreSQL and Redis, as two web and two worker machines would be.

Requests and tasks go to both. A login on one server is valid on the other, the cache and the
login throttle are shared, the same idempotency key sent to both servers at once makes one
payment, a batch queued to both workers runs once, and a task delivered to both sends one mail.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections import Counter
from datetime import date, time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from factories_payments import make_charge, make_resident

from cityhall.models import Notification
from cityhall.tasks import deliver_notification
from factories import PASSWORD, UserFactory
from ops_helpers import ROOT, free_port, start_worker, stop_process, wait_for
from payments import batches, documents, selectors
from payments.formats import konbini
from payments.models import BatchRun, LedgerEvent, Payment
from payments.tasks import run_batch

THROTTLED = "ログインの失敗が続いたため"


def production_env(tmp_path: Path, *, queue: str, cache_prefix: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        "DJANGO_SETTINGS_MODULE": "cityhall.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "two-servers-" + secrets.token_hex(24),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "MACHIBA_MYNUMBER_KEYS": secrets.token_hex(16),
        "MACHIBA_PAYMENT_PROVIDERS": "sandbox",
        "MACHIBA_PAYMENTS_WEBHOOK_SECRETS": secrets.token_hex(16),
        "DATABASE_URL": (
            f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/"
            f"{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "MACHIBA_CACHE_PREFIX": cache_prefix,
        "CELERY_QUEUE": queue,
        "MACHIBA_VAR_DIR": str(tmp_path / "var"),
        # Where the test process stores batch inputs: the machines share that volume.
        "MACHIBA_PRIVATE_ROOT": str(settings.PRIVATE_STORAGE_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "WEB_CONCURRENCY": "2",
    }


class Server:
    """One gunicorn, as `make run` and the container start it (cityhall/ops/gunicorn.conf.py)."""

    def __init__(self, name: str, env: dict[str, str], log: Path):
        import os
        import subprocess

        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "PORT": str(self.port)}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "gunicorn"),
                    "cityhall.wsgi:application",
                    "-c",
                    "cityhall/ops/gunicorn.conf.py",
                ],
                cwd=ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def up(self) -> bool:
        try:
            return requests.get(f"{self.url}/livez", timeout=5).status_code == 200
        except requests.RequestException:
            return False


class Browser:
    """A person's browser behind the city's TLS load balancer: it keeps its cookies (Secure
    ones included: TLS ends at the balancer) and can be sent to either server."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, server: Server, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "Origin": f"https://127.0.0.1:{server.port}",
            "Accept-Language": "ja",
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method,
            server.url + path,
            headers=headers,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )
        for cookie in response.cookies:
            if cookie.value:
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return response

    def login(self, server: Server, email: str, password: str) -> requests.Response:
        page = self.request(server, "GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request(
            server,
            "POST",
            "/accounts/login/",
            data={"login": email, "password": password, "csrfmiddlewaretoken": token},
        )


def production_password(user) -> None:
    """The servers run the production hashers; the test settings' fast one is not among them."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])


def succeeded_tasks(log: Path, task: str) -> Counter:
    runs: Counter = Counter()
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line).get("message", "")
        if message.startswith(f"Task {task}[") and " succeeded " in message:
            runs[message.split("[", 1)[1].split("]", 1)[0]] += 1
    return runs


def konbini_file(installments) -> bytes:
    records = [
        konbini.KonbiniRecord(
            line_no=0,
            record_type="01",
            paid_date=date(2025, 7, 1),
            paid_time=time(10, n),
            barcode=documents.barcode_for(inst, amount=inst.amount, deadline=date(2025, 12, 31)),
            user1="",
            user2="",
            stamp_flag=0,
            amount=inst.amount,
            store_chain="010",
            store_name="テスト店",
            store_code="0001",
            transfer_date=None,
            file_date=date(2025, 7, 1),
        )
        for n, inst in enumerate(installments)
    ]
    return konbini.build_result_csv(records, header=True)


@pytest.mark.celery
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_two_servers_and_two_workers_share_sessions_caches_limits_and_do_things_once(tmp_path):
    queue = f"machiba-two-{uuid.uuid4().hex[:8]}"
    cache_prefix = f"two-{uuid.uuid4().hex[:8]}"
    env = production_env(tmp_path, queue=queue, cache_prefix=cache_prefix)
    (tmp_path / "var").mkdir()
    logs = {name: tmp_path / f"{name}.log" for name in ("web-a", "web-b", "worker-a", "worker-b")}

    resident = UserFactory(role="resident")
    production_password(resident)
    payer = make_resident(user=resident)
    installment = make_charge(payer, parts=[(date(2030, 6, 28), 4_000)]).installments.get()
    second_installment = make_charge(
        payer, code="light_vehicle_tax", parts=[(date(2030, 5, 31), 2_700)]
    ).installments.get()
    other = UserFactory(role="resident")
    production_password(other)

    servers: list[Server] = []
    workers = []
    try:
        servers = [Server("a", env, logs["web-a"]), Server("b", env, logs["web-b"])]
        workers = [
            start_worker(queue=queue, name=f"two-{n}", log=logs[f"worker-{n}"], env=env)
            for n in ("a", "b")
        ]
        a, b = servers
        assert wait_for(lambda: a.up() and b.up(), 180, interval=0.5), "servers did not start"
        assert wait_for(
            lambda: all("ready." in logs[f"worker-{n}"].read_text() for n in ("a", "b")),
            180,
            interval=0.5,
        ), "workers did not start"

        # Sessions: a login on A is valid on B, and a logout on B ends it on A.
        person = Browser()
        login = person.login(a, resident.email, PASSWORD)
        assert login.status_code == 302, login.text[:2000]
        assert person.request(b, "GET", "/my/").status_code == 200
        assert person.request(a, "GET", "/my/").status_code == 200
        csrf = person.cookies["csrftoken"]
        logout = person.request(b, "POST", "/accounts/logout/", data={"csrfmiddlewaretoken": csrf})
        assert logout.status_code == 302
        assert person.request(a, "GET", "/my/").status_code == 302  # to the login page

        # Cache: one store. What B puts there, A reads, and the other way round.
        shared = RedisCache(settings.REDIS_CACHE_URL, {"KEY_PREFIX": cache_prefix})
        person.login(b, resident.email, PASSWORD)
        shared.delete("counter:dashboard-summary")
        assert person.request(b, "GET", "/my/").status_code == 200
        assert shared.get("counter:dashboard-summary") is not None, "B did not cache"
        shared.set(
            "counter:dashboard-summary", {"waiting": 4242, "open": True, "longest_wait": 17}, 600
        )
        for server in (a, b):
            page = person.request(server, "GET", "/my/").text
            assert "いま 4242 人が順番を待っています" in page, server.name

        # Login throttle: counted across both servers (5 failures per address in 5 minutes).
        stranger = Browser()
        for server in (a, a, a, b, b):
            failed = stranger.login(server, other.email, "wrong-password")
            assert failed.status_code == 200 and THROTTLED not in failed.text
        refused = stranger.login(a, other.email, PASSWORD)
        assert refused.status_code == 200 and THROTTLED in refused.text
        assert "sessionid" not in stranger.cookies
        elsewhere = Browser().login(b, other.email, PASSWORD)
        assert elsewhere.status_code == 200 and THROTTLED in elsewhere.text

        # Idempotency: a client that retries with the same key on the other server (its first
        # answer was lost at the load balancer) gets the first payment back, not a second one.
        key = uuid.uuid4().hex
        body = {"installments": [installment.pk], "return_url": "/my/statement/"}

        def pay(server):
            return person.request(
                server,
                "POST",
                "/api/payments/payments/",
                json=body,
                headers={"Idempotency-Key": key, "X-CSRFToken": person.cookies["csrftoken"]},
            )

        responses = [pay(a), pay(b), pay(a)]
        assert [r.status_code for r in responses] == [201, 200, 200], [r.text for r in responses]
        assert len({r.json()["payment"]["id"] for r in responses}) == 1
        assert len({r.json()["redirect_url"] for r in responses}) == 1
        (payment,) = Payment.objects.filter(idempotency_key=f"api:{resident.pk}:{key}")
        assert LedgerEvent.objects.filter(payment=payment, kind="payment.created").count() == 1
        conflict = person.request(
            b,
            "POST",
            "/api/payments/payments/",
            json={**body, "installments": [second_installment.pk]},
            headers={"Idempotency-Key": key, "X-CSRFToken": person.cookies["csrftoken"]},
        )
        assert conflict.status_code == 409, conflict.text

        # A batch queued to both workers runs once.
        payers = [make_resident() for _ in range(6)]
        bills = [
            make_charge(p, parts=[(date(2025, 6, 30), 5_000 + n)]).installments.get()
            for n, p in enumerate(payers)
        ]
        run = batches.submit(kind="konbini_import", data=konbini_file(bills), queue=False)
        sent = [run_batch.apply_async(args=[run.pk], queue=queue).id for _ in range(4)]
        assert wait_for(
            lambda: BatchRun.objects.get(pk=run.pk).state == BatchRun.State.SUCCEEDED, 240
        ), BatchRun.objects.get(pk=run.pk).error
        assert wait_for(
            lambda: (
                sum(
                    sum(succeeded_tasks(logs[f"worker-{n}"], "payments.run_batch")[t] for t in sent)
                    for n in ("a", "b")
                )
                == len(sent)
            ),
            120,
        )
        run.refresh_from_db()
        assert run.processed == run.total == len(bills)
        konbini_payments = Payment.objects.filter(channel="konbini")
        assert konbini_payments.count() == len(bills)
        assert sum(p.amount for p in konbini_payments) == sum(i.amount for i in bills)
        for bill in bills:
            bill.refresh_from_db()
            assert bill.allocated == bill.amount
        assert selectors.reconciliation_report()["ok"]

        # Tasks to both workers: each notification sent twice, mailed once.
        recipients = [UserFactory(role="resident") for _ in range(6)]
        notes = [
            Notification.objects.create(user=u, subject="二台", body="本文") for u in recipients
        ]
        deliveries = [
            deliver_notification.apply_async(args=[n.pk], queue=queue).id
            for n in notes
            for _ in range(2)
        ]
        assert wait_for(
            lambda: (
                sum(
                    sum(
                        succeeded_tasks(
                            logs[f"worker-{n}"], "cityhall.deliver_notification"
                        ).values()
                    )
                    for n in ("a", "b")
                )
                >= len(deliveries)
            ),
            180,
        )
        per_worker = {
            n: succeeded_tasks(logs[f"worker-{n}"], "cityhall.deliver_notification")
            for n in ("a", "b")
        }
        assert all(per_worker[n] for n in ("a", "b")), "one worker took every task"
        assert sum(per_worker["a"].values()) + sum(per_worker["b"].values()) == len(deliveries)
        mails = "".join(p.read_text() for p in (tmp_path / "var" / "mail").iterdir())
        for user in recipients:
            assert mails.count(f"To: {user.email}\n") == 1, user.email
        assert (
            Notification.objects.filter(pk__in=[n.pk for n in notes], emailed_at=None).count() == 0
        )
    finally:
        for server in servers:
            stop_process(server.process)
        for worker in workers:
            stop_process(worker)
    # No request or task failed on either machine along the way.
    for log in logs.values():
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
