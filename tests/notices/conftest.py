"""Fixtures of the notices tests: the local LINE and SMTP servers, and residents with accounts."""

from __future__ import annotations

import pytest
from channel_servers import LINE_TOKEN, LOGIN_CHANNEL_ID, LOGIN_SECRET, LineServer, SmtpServer
from notices_helpers import WEBHOOK_SECRET


@pytest.fixture
def line_server(settings):
    with LineServer() as server:
        settings.NOTICES_LINE_API_URL = server.url
        settings.NOTICES_LINE_CHANNEL_ACCESS_TOKEN = LINE_TOKEN
        settings.NOTICES_LINE_CHANNEL_SECRET = WEBHOOK_SECRET
        settings.NOTICES_LINE_LOGIN_URL = server.url
        settings.NOTICES_LINE_LOGIN_API_URL = server.url
        settings.NOTICES_LINE_LOGIN_CHANNEL_ID = LOGIN_CHANNEL_ID
        settings.NOTICES_LINE_LOGIN_CHANNEL_SECRET = LOGIN_SECRET
        settings.NOTICES_LINE_BACKOFF_SECONDS = 0.05
        settings.NOTICES_RATE_PER_SECOND = {"email": 0, "line": 0}
        yield server


@pytest.fixture
def smtp_server(settings):
    with SmtpServer() as server:
        settings.NOTICES_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.NOTICES_EMAIL_HOST = "127.0.0.1"
        settings.NOTICES_EMAIL_PORT = server.port
        settings.NOTICES_RATE_PER_SECOND = {"email": 0, "line": 0}
        yield server
