"""Settings for Machiba: one module, every value from the environment.

Defaults are the ones `make run` needs on a developer's machine (the private PostgreSQL and
Redis under ./var/). Production sets DJANGO_DEBUG=false and gives secrets through the
environment only; `manage.py check --deploy` is clean then.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MACHIBA_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# Safe by default: without DJANGO_DEBUG=true the production settings apply (a secret key and
# My Number keys from the environment, secure cookies, HSTS). `make run`, `make test` and the
# test settings say DJANGO_DEBUG=true explicitly.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A development key only works with DEBUG on; production must provide its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "dev-only-insecure-key-machiba-0123456789abcdefghijklmnopqrstuvwxyz" if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("MACHIBA_SITE_URL", default="http://127.0.0.1:8000")
CITY_NAME = env.str("MACHIBA_CITY_NAME", default="まちば市")
CITY_NAME_EN = env.str("MACHIBA_CITY_NAME_EN", default="Machiba City")
# The prefecture the city belongs to: certificates print the address in full (都道府県 + 市).
PREFECTURE = env.str("MACHIBA_PREFECTURE", default="東京都")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "cityhall",
    "residents",
    "gis",
    "payments",
    "procedures",
    "counter",
    "facilities",
    "taxes",
    "notices",
]

MIDDLEWARE = [
    "cityhall.middleware.RequestSizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cityhall.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "cityhall.api_errors.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cityhall.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "cityhall.middleware.StaffDoorMiddleware",
    "cityhall.middleware.RememberLanguageMiddleware",
]

if not DEBUG:
    # In production gunicorn serves the collected static files itself; in development the
    # staticfiles app does.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "cityhall.urls"
WSGI_APPLICATION = "cityhall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "cityhall.context_processors.city",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"postgis://machiba@127.0.0.1:{env.int('MACHIBA_PG_PORT', default=5439)}/machiba",
        engine="django.contrib.gis.db.backends.postgis",
    )
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Connections are kept for a minute (as deploy/kubernetes does): a new one per request cost
# a backend start and cold catalogue caches, the most of a one-query page's time
# (at most workers × threads connections, 16 with the default gunicorn settings).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_machiba")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str(
    "REDIS_URL", default=f"redis://127.0.0.1:{env.int('MACHIBA_REDIS_PORT', default=6389)}/0"
)
# The cache lives in its own Redis database, so clearing it can never drop Celery's queues.
REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/1")
# A cache that is down is a miss, not an error (cityhall/cache.py); short timeouts keep a
# Redis that hangs from holding pages.
CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
CACHES = {
    "default": {
        "BACKEND": "cityhall.cache.DegradingRedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": env.str("MACHIBA_CACHE_PREFIX", default="machiba"),
        "OPTIONS": CACHE_OPTIONS,
    }
}
# Sessions are read from Redis and written through to PostgreSQL: no table read per
# request, and a Redis restart loses no one's sign-in (a miss falls back to the table).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "cityhall.User"
# Django's and allauth's backends, reading the session's user and roles from Redis
# (cityhall/authcache.py: exact, a change is seen on the next request).
AUTHENTICATION_BACKENDS = [
    "cityhall.authcache.CachedModelBackend",
    "cityhall.authcache.CachedAllauthBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
SITE_ID = 1

# allauth: e-mail is the login; an address must be verified before the account is used.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_ADAPTER = "cityhall.accounts.AccountAdapter"
# Login throttling: after five failed attempts for one address in five minutes, allauth refuses
# further tries with its "too many failed login attempts" message until the window passes.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("MACHIBA_LOGIN_FAILED_LIMIT", default="10/m/ip,5/5m/key"),
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MACHIBA_MFA_ISSUER", default="Machiba")

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@machiba.example.jp")

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("MACHIBA_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploaded files and generated PDFs are private: they live outside the web root and are served
# only through views that check who is asking.
PRIVATE_STORAGE_ROOT = Path(env.str("MACHIBA_PRIVATE_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Stored files (attachments, sealed certificates) are readable by the service's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Whole request bodies: a larger one is refused with 413 before anything reads it
# (cityhall.middleware.RequestSizeMiddleware); 10 MB attachments fit with room for the form.
MAX_REQUEST_BYTES = env.int("MACHIBA_MAX_REQUEST_BYTES", default=12 * 1024 * 1024)
# Uploaded images are decoded only up to this many pixels (procedures/images.py).
MAX_IMAGE_PIXELS = env.int("MACHIBA_MAX_IMAGE_PIXELS", default=40_000_000)

# The staff door (/staff/) may be limited to the office networks: the internet-facing portal and
# the back office are different doors (the three-layer separation of local government networks).
STAFF_ALLOWED_NETWORKS = env.list("MACHIBA_STAFF_NETWORKS", default=[])
# Our own reverse proxies (CIDR list). Only a request from one of them has its X-Forwarded-For
# read, from the right (cityhall/network.py); anyone else's header is ignored.
TRUSTED_PROXIES = env.list("MACHIBA_TRUSTED_PROXIES", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "cityhall.pagination.CheckedLimitOffsetPagination",
    # JSON only, as the schema says: form encodings parse loosely (an empty field is absent,
    # "1" and "on" are true), so bodies outside the schema were accepted. A view that takes a
    # file (payments' batch runs) names multipart itself.
    "DEFAULT_PARSER_CLASSES": ["cityhall.api_errors.ObjectJSONParser"],
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Machiba API",
    "DESCRIPTION": "電子市役所 Machiba の API / The API of the Machiba e-city-hall",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Shared error responses and local clock times: cityhall/openapi.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cityhall.openapi.document_errors_and_times",
    ],
    # The payments webhook's credential is its signature header (payments/api.py, webhook).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "sandboxSignature": {"type": "apiKey", "in": "header", "name": "Machiba-Signature"},
            "stripeSignature": {"type": "apiKey", "in": "header", "name": "Stripe-Signature"},
        }
    },
    # Several models have a field called "kind"; each gets its own, stable enum name.
    "ENUM_NAME_OVERRIDES": {
        "MovementKindEnum": "residents.models.Movement.Kind",
        "RevenueKindEnum": "payments.models.Revenue.Kind",
        "BatchRunKindEnum": "payments.models.BatchRun.Kind",
        "NoticeKindEnum": "payments.models.Notice.Kind",
        "LayerKindEnum": "gis.models.Layer.Kind",
        "GarbageKindEnum": "gis.models.GarbageSchedule.Kind",
        "TicketEventKindEnum": "counter.models.TicketEvent.Kind",
        "FacilityKindEnum": "facilities.models.Facility.Kind",
        "FacilityBookingKindEnum": "facilities.models.Booking.Kind",
        "FacilityBookingStateEnum": "facilities.models.Booking.State",
        "FacilityRegistrationKindEnum": "facilities.models.Registration.Kind",
        "FacilityRegistrationStateEnum": "facilities.models.Registration.State",
        "FacilityEntryStateEnum": "facilities.models.Entry.State",
        "FacilityRoundStateEnum": "facilities.models.LotteryRound.State",
        "FacilitySlotStatusEnum": "facilities.selectors.SLOT_STATUSES",
        # Keeps its name now that facilities' availability has a "status" field too.
        "StatusEnum": "residents.models.Resident.Status",
    },
}

# Celery: Redis broker; a task is acknowledged only after it ran, so a worker killed mid-task
# hands it back. The visibility timeout is longer than any ETA we schedule (else a task that
# waits in Redis is delivered twice).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="machiba")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Connections that apply an annual billing run's chunks side by side (each chunk is independent:
# one line, one charge). 2 measured fastest on the 2-core machine (bench/README.md, Billing);
# a database server with more cores may take more. 1 applies them one after another.
BATCH_PARALLEL_CHUNKS = env.int("BATCH_PARALLEL_CHUNKS", default=2)

# Security headers. Scripts come only from our own origin (vendored files), never inline.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("MACHIBA_SESSION_AGE", default=8 * 3600)
# Idle limits (cityhall/middleware.py IdleTimeoutMiddleware): a staff session ends after 15
# minutes without a request, a resident's after 30; SESSION_COOKIE_AGE caps either.
STAFF_IDLE_MINUTES = env.int("MACHIBA_STAFF_IDLE_MINUTES", default=15)
RESIDENT_IDLE_MINUTES = env.int("MACHIBA_RESIDENT_IDLE_MINUTES", default=30)
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# X-Forwarded-Proto is believed only behind our own TLS-terminating proxy (MACHIBA_BEHIND_PROXY);
# without one, anyone could send the header and pass for HTTPS.
if env.bool("MACHIBA_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Public facility reservations: the city's rules (facilities/rules.py lists the keys and their
# defaults; README explains them), e.g. {"hold_minutes": 15, "refund_schedule": [[7, 100]]}.
FACILITY_RULES = env.json("MACHIBA_FACILITY_RULES", default={})

# Payment provider webhooks are signed with one of these secrets (several during rotation).
PAYMENTS_WEBHOOK_SECRETS = env.list(
    "MACHIBA_PAYMENTS_WEBHOOK_SECRETS",
    default=["dev-only-payments-webhook-secret"] if DEBUG else [],
)
# Online payment providers offered, the first being the default (payments/providers). None in
# production unless named: card payment is then simply not offered. The sandbox (no money moves)
# is an app of its own, installed only when named, as it is by default in development.
PAYMENTS_PROVIDERS = env.list("MACHIBA_PAYMENT_PROVIDERS", default=["sandbox"] if DEBUG else [])
PAYMENTS_DEFAULT_PROVIDER = env.str("MACHIBA_PAYMENT_DEFAULT_PROVIDER", default="")
if "sandbox" in PAYMENTS_PROVIDERS:
    INSTALLED_APPS.append("payments.sandbox")
PAYMENTS_STRIPE_SECRET_KEY = env.str("MACHIBA_STRIPE_SECRET_KEY", default="")
PAYMENTS_STRIPE_WEBHOOK_SECRETS = env.list("MACHIBA_STRIPE_WEBHOOK_SECRETS", default=[])
PAYMENTS_STRIPE_API_BASE = env.str("MACHIBA_STRIPE_API_BASE", default="https://api.stripe.com")
# Corrections (更正) and refunds (還付) above this many yen wait for a second person's approval.
PAYMENTS_APPROVAL_THRESHOLD = env.int("MACHIBA_PAYMENTS_APPROVAL_THRESHOLD", default=100_000)
# Late-charge rates of years the built-in table does not have yet, "year:first:after" in percent
# (延滞金特例基準割合, announced each December), e.g. "2027:2.8:9.1".
PAYMENTS_LATE_CHARGE_RATES = env.list("MACHIBA_LATE_CHARGE_RATES", default=[])
PAYMENTS_STRIPE_CHECKOUT_ORIGIN = env.str(
    "MACHIBA_STRIPE_CHECKOUT_ORIGIN", default="https://checkout.stripe.com"
)

# My Number is encrypted at rest with AES-GCM. The first key encrypts; every key listed decrypts,
# so keys can be rotated by putting a new key first and re-encrypting.
MYNUMBER_KEYS = env.list(
    "MACHIBA_MYNUMBER_KEYS",
    default=["dev-only-mynumber-key-0001"] if DEBUG else [],
)
if not MYNUMBER_KEYS:
    raise ImproperlyConfigured("MACHIBA_MYNUMBER_KEYS must be set when DJANGO_DEBUG is false")

# 個人住民税 (taxes/): the online declaration period, "MM-DD..MM-DD" every year or
# "YYYY-MM-DD..YYYY-MM-DD" for one season (an extended deadline); the fiscal year declared for is
# the year of the period's start. The city's 級地 (1–3) for the 均等割 non-taxable limit, whether
# it is a 政令指定都市, and a prefecture's own 均等割 (empty: the statutory 1,000 yen).
TAX_DECLARATION_PERIOD = env.str("MACHIBA_TAX_DECLARATION_PERIOD", default="02-16..03-15")
TAX_CITY_GRADE = env.int("MACHIBA_TAX_CITY_GRADE", default=1)
TAX_DESIGNATED_CITY = env.bool("MACHIBA_TAX_DESIGNATED_CITY", default=False)
TAX_PER_CAPITA_PREF = env.int("MACHIBA_TAX_PER_CAPITA_PREF", default=None)

# Debian 12 ships GDAL 3.6, which cannot block file and network access from inside spatial
# reference definitions (gis.W001). Machiba passes GDAL only files that staff upload for import
# and never user-supplied SRS strings, so the warning is acknowledged rather than hidden.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Operations: JSON logs with request ids, metrics, health (README "Operations") ---------
# One JSON object per line, with the request id of the web request (also in Celery tasks that
# request started: django-guid carries it in the task headers). WeasyPrint's progress lines and
# per-task chatter stay out of the logs unless LOG_LEVEL=DEBUG.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {
            "()": "django_guid.log_filters.CorrelationId",
            "correlation_id_field": "request_id",
        }
    },
    "formatters": {"json": {"()": "cityhall.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
    },
}

# --- Identity: マイナンバーカード (公的個人認証) for residents, security keys for staff ------------
INSTALLED_APPS += ["allauth.socialaccount", "identity", "identity.card"]
# Before the staff door: people who can reveal My Number need a security key, not only a code.
MIDDLEWARE.insert(
    MIDDLEWARE.index("cityhall.middleware.StaffDoorMiddleware"),
    "identity.middleware.SecurityKeyMiddleware",
)
MIDDLEWARE.append("identity.middleware.PlatformFormActionMiddleware")
REQUIRE_SECURITY_KEY_FOR_MYNUMBER = env.bool(
    "MACHIBA_REQUIRE_SECURITY_KEY_FOR_MYNUMBER", default=not DEBUG
)
# WebAuthn needs https; only a developer's http://localhost may be accepted, never in production.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG and env.bool(
    "MACHIBA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=True
)
MFA_PASSKEY_LOGIN_ENABLED = False
SOCIALACCOUNT_ADAPTER = "identity.adapters.SocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {"jpki": {"OAUTH_PKCE_ENABLED": True}}
# The platform provider that reads the card (デジタル認証アプリ or another プラットフォーム事業者);
# empty = login and signing by card are not offered. See identity/platform.py and the README.
JPKI = {
    "NAME": env.str("MACHIBA_JPKI_PROVIDER_NAME", default="デジタル認証アプリ"),
    "ISSUER": env.str("MACHIBA_JPKI_ISSUER", default=""),
    "CLIENT_ID": env.str("MACHIBA_JPKI_CLIENT_ID", default=""),
    "CLIENT_SECRET": env.str("MACHIBA_JPKI_CLIENT_SECRET", default=""),
    "CLIENT_KEY_FILE": env.str("MACHIBA_JPKI_CLIENT_KEY_FILE", default=""),
    "CLIENT_KEY_ID": env.str("MACHIBA_JPKI_CLIENT_KEY_ID", default=""),
    "ACR_VALUES": env.str("MACHIBA_JPKI_ACR_VALUES", default=""),
    "SIGN_API": env.str("MACHIBA_JPKI_SIGN_API", default=""),
    "CA_FILE": env.str("MACHIBA_JPKI_CA_FILE", default=""),
    "CRL_URLS": env.list("MACHIBA_JPKI_CRL_URLS", default=[]),
}

INSTALLED_APPS += ["django_guid"]
MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "cityhall.logs.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=False, log_parent=False)],
}
# The worker logs through LOGGING above (JSON), not through Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /metrics answers only the staff network; with no staff network configured, only loopback.
METRICS_ALLOWED_NETWORKS = env.list(
    "MACHIBA_METRICS_NETWORKS", default=STAFF_ALLOWED_NETWORKS or ["127.0.0.0/8", "::1/128"]
)
# Probes and scrapes come over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^metrics$"]
# A connection kept across requests is checked first, so a restarted PostgreSQL costs no error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Notices (お知らせ配信, notices/): who approves, the channels' servers and their limits.
# A send to more residents than this needs a second person's approval.
NOTICES_APPROVAL_THRESHOLD = env.int("MACHIBA_NOTICES_APPROVAL_THRESHOLD", default=100)
# LINE Messaging API (the city's official account) and LINE Login (linking accounts).
NOTICES_LINE_API_URL = env.str("MACHIBA_LINE_API_URL", default="https://api.line.me")
NOTICES_LINE_CHANNEL_ACCESS_TOKEN = env.str("MACHIBA_LINE_CHANNEL_ACCESS_TOKEN", default="")
NOTICES_LINE_CHANNEL_SECRET = env.str("MACHIBA_LINE_CHANNEL_SECRET", default="")
NOTICES_LINE_LOGIN_URL = env.str("MACHIBA_LINE_LOGIN_URL", default="https://access.line.me")
NOTICES_LINE_LOGIN_API_URL = env.str("MACHIBA_LINE_LOGIN_API_URL", default="https://api.line.me")
NOTICES_LINE_LOGIN_CHANNEL_ID = env.str("MACHIBA_LINE_LOGIN_CHANNEL_ID", default="")
NOTICES_LINE_LOGIN_CHANNEL_SECRET = env.str("MACHIBA_LINE_LOGIN_CHANNEL_SECRET", default="")
NOTICES_LINE_FRIEND_URL = env.str("MACHIBA_LINE_FRIEND_URL", default="")
# Notice e-mail goes through this SMTP server (default: the site's EMAIL_* settings).
NOTICES_EMAIL_BACKEND = env.str("MACHIBA_NOTICES_EMAIL_BACKEND", default=EMAIL_BACKEND)
NOTICES_EMAIL_HOST = env.str("MACHIBA_NOTICES_EMAIL_HOST", default=EMAIL_HOST)
NOTICES_EMAIL_PORT = env.int("MACHIBA_NOTICES_EMAIL_PORT", default=EMAIL_PORT)
NOTICES_FROM_EMAIL = env.str("MACHIBA_NOTICES_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# SMTP connections one worker keeps open at once while it hands a chunk of notice mail over.
NOTICES_EMAIL_CONNECTIONS = env.int("MACHIBA_NOTICES_EMAIL_CONNECTIONS", default=4)
# Per channel: e-mails per second (the relay's allowance) and LINE requests per second.
NOTICES_RATE_PER_SECOND = {
    "email": env.int("MACHIBA_NOTICES_EMAIL_PER_SECOND", default=100),
    "line": env.int("MACHIBA_NOTICES_LINE_REQUESTS_PER_SECOND", default=100),
}
# GOV.UK Notify's schedule for temporary failures: again every 5 minutes for up to 4 hours.
NOTICES_RETRY_INTERVAL_SECONDS = env.int("MACHIBA_NOTICES_RETRY_INTERVAL_SECONDS", default=300)
NOTICES_RETRY_FOR_SECONDS = env.int("MACHIBA_NOTICES_RETRY_FOR_SECONDS", default=4 * 3600)
# LINE answers 429 when the rate limit or the month's quota is reached: wait base × 2ⁿ seconds.
NOTICES_LINE_BACKOFF_SECONDS = env.float("MACHIBA_NOTICES_LINE_BACKOFF_SECONDS", default=1.0)
NOTICES_LINE_BACKOFF_TRIES = env.int("MACHIBA_NOTICES_LINE_BACKOFF_TRIES", default=5)
