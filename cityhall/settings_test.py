"""The small override the test suite runs with: same services, faster hashing, its own queue."""

import os

# The test suite runs the development settings, said explicitly: without DJANGO_DEBUG the
# settings are production's, safe by default. Subprocesses the tests start inherit it.
os.environ.setdefault("DJANGO_DEBUG", "true")

from .settings import *  # noqa: E402, F403
from .settings import CACHE_OPTIONS, DATABASES, REDIS_CACHE_URL, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# Tests get their own Celery queue and cache prefix, so a `make run` worker on the same Redis
# never takes a test's task.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", f"machiba-test-{os.getpid()}")
CACHES = {
    "default": {
        "BACKEND": "cityhall.cache.DegradingRedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": f"machiba-test-{os.getpid()}",
        "OPTIONS": CACHE_OPTIONS,
    }
}
PRIVATE_STORAGE_ROOT = VAR_DIR / "test-private"
MEDIA_ROOT = VAR_DIR / "test-media"
# The suite resets its database between browser tests with TRUNCATE (Django's flush), which the
# append-only tables refuse unless the connection allows it (cityhall/appendonly.py).
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c machiba.allow_truncate=on"
