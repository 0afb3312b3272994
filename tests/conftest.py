"""Shared fixtures: people in each role, MFA, a real Celery worker and a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from hypothesis import settings as hypothesis_settings

from factories import TOTP_SECRET, UserFactory, current_totp
from workers import start_celery_worker, stop_celery_worker

# A missing module of our own fails the run instead of skipping it (see loudimports); pytester
# runs a small suite through that plugin to prove it.
pytest_plugins = ["loudimports", "pytester"]

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that
# thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent

# Property tests assert properties, not speed: a per-example deadline only measures how busy the
# machine is (CI's is twice as slow and shared), so it is switched off for the whole suite.
hypothesis_settings.register_profile("machiba", deadline=None)
hypothesis_settings.load_profile("machiba")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in Japanese: a page requested in English must not leave its language
    active for the next test's messages (services speak the reader's language)."""
    from django.utils import translation

    translation.activate("ja")
    yield
    translation.activate("ja")


@pytest.fixture
def resident_user(db):
    return UserFactory(role="resident")


@pytest.fixture
def other_resident_user(db):
    return UserFactory(role="resident")


@pytest.fixture
def clerk_without_mfa(db):
    return UserFactory(role="clerk")


def _with_mfa(user):
    TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def clerk(db):
    return _with_mfa(UserFactory(role="clerk"))


@pytest.fixture
def supervisor(db):
    return _with_mfa(UserFactory(role="supervisor"))


@pytest.fixture
def admin_user(db):
    return _with_mfa(UserFactory(role="admin", is_staff=True, is_superuser=True))


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def resident_client(client, resident_user):
    client.force_login(resident_user)
    return client


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, django_db_blocker):
    """A real worker on the test run's own default queue, shared by the session."""
    from django.conf import settings

    proc = start_celery_worker(settings.CELERY_TASK_DEFAULT_QUEUE, name="test")
    yield proc
    stop_celery_worker(proc)


@pytest.fixture
def celery_worker_process(transactional_db, _celery_worker_session):
    """The session's worker, drained before the test database is flushed.

    It depends on ``transactional_db`` so that it is torn down first: a task the test
    left queued (approval queues a certificate by itself) must not still hold row locks
    while the flush truncates every table, or the TRUNCATE deadlocks with it.
    """
    from django.conf import settings

    from cityhall.celery import app
    from cityhall.tasks import ping

    yield _celery_worker_session
    if _celery_worker_session.poll() is not None:
        return
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    # The solo pool runs tasks one at a time, in order: once this one is back, whatever
    # the worker had taken before it has finished.
    ping.delay("drain").get(timeout=120)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="ja-JP", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def browser_login(page, email: str, password: str, *, totp_secret: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    if totp_secret:
        page.wait_for_selector("input[name=code]")
        page.fill("input[name=code]", current_totp(totp_secret))
        page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_load_state()


@pytest.fixture
def login_in_browser():
    return browser_login
