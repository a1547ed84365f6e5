"""Omni settings, read from the environment.

Every variable is documented in README.md ("Configuration"). With nothing set,
Omni runs embedded: SQLite in ``db.sqlite3`` and Celery tasks run eagerly in
the process. Production settings live in ``omni.settings_production``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only for a laptop or the demo: never used with DEBUG off.
    SECRET_KEY = "insecure-omni-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "omni.apps.OmniAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_celery_beat",
    "omni.apps.OmniConfig",
    "omni.catalog.apps.CatalogConfig",
    "customers.apps.CustomersConfig",
    "inventory.apps.InventoryConfig",
    "loyalty.apps.LoyaltyConfig",
    "omni.webhooks.apps.WebhooksConfig",
    "omni.orders.apps.OrdersConfig",
    "returns.apps.ReturnsConfig",
    "kpis.apps.KpisConfig",
]

MIDDLEWARE = [
    "omni.api.guards.ApiAnswersJsonMiddleware",  # outermost: sees every answer under /api/
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "omni.api.language.ApiLanguageMiddleware",  # the API: English unless Accept-Language asks for Italian
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "omni.api.guards.RejectNulMiddleware",
    "omni.api.idempotency.IdempotencyMiddleware",
    "omni.api.one_read.OneReadPerRequestMiddleware",  # innermost: authentication and the view share one read
]

ROOT_URLCONF = "omni.urls"
WSGI_APPLICATION = "omni.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# DATABASE_URL selects the database; without it, an SQLite file. SQLite takes
# its write lock when a transaction begins (IMMEDIATE) and waits for it
# instead of failing, so concurrent writers queue.
SQLITE_TIMEOUT_SECONDS = int(os.environ.get("SQLITE_TIMEOUT", "20"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_TIMEOUT_SECONDS,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )


def env_prepare_threshold(name: str, default: int | None) -> int | None:
    """A psycopg prepare_threshold: a count of runs, or None (never prepare) for "off"/"none"."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"off", "none", "no", "false"}:
        return None
    if not value.strip().isdigit():
        raise ImproperlyConfigured(f"{name} must be 0 or more, or off.")
    return int(value)


# PostgreSQL: parameters bound by the server (the query and its values travel apart) and, once
# a statement has run DATABASE_PREPARE_THRESHOLD times on a connection, prepared there, so its
# next runs skip parsing and planning. Both on by default; DATABASE_SERVER_SIDE_BINDING=0 goes
# back to psycopg's client-side binding (no statement is prepared then), and
# DATABASE_PREPARE_THRESHOLD=off keeps server-side binding without preparing. Behind a pooler in
# transaction mode (pgbouncer's pool_mode=transaction) a prepared statement lives on a server
# connection the next transaction may not get: set DATABASE_PREPARE_THRESHOLD=off there.
DATABASE_SERVER_SIDE_BINDING = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
DATABASE_PREPARE_THRESHOLD = env_prepare_threshold("DATABASE_PREPARE_THRESHOLD", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": DATABASE_SERVER_SIDE_BINDING, "prepare_threshold": DATABASE_PREPARE_THRESHOLD}
    )

# Read replicas (PostgreSQL streaming standbys), comma-separated URLs: each becomes the database
# "replica_0", "replica_1", ... The router in omni/db_router.py sends them only the reads of the
# dashboards, the KPI endpoint, exports, segment counts and the parity report (omni/replicas.py);
# everything else, and every write, goes to "default". A replica more than
# DATABASE_REPLICA_MAX_LAG_SECONDS behind, or unreachable within DATABASE_REPLICA_CONNECT_TIMEOUT
# seconds, is skipped until it is healthy again.
DATABASE_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", "5"))
DATABASE_REPLICA_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_REPLICA_CONNECT_TIMEOUT", "2"))
for _index, _url in enumerate(env_list("DATABASE_REPLICA_URLS", [])):
    _replica = dj_database_url.parse(_url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    _replica.setdefault("OPTIONS", {})["connect_timeout"] = DATABASE_REPLICA_CONNECT_TIMEOUT
    # Under test the replica reads the test database the primary streams to it, never creates its own.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["omni.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, rate limits) -----------------------------------------
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "omni.cache.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Failed admin logins allowed per username, and per address (higher: colleagues share an address),
# before a lockout of this many seconds.
ADMIN_LOGIN_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_FAILURE_LIMIT", "5"))
ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT", "30"))
ADMIN_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("ADMIN_LOGIN_LOCKOUT_SECONDS", "900"))

# --- Language and time ----------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "it")
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True
# Pages show numbers and money grouped (1.234,56 in Italian); the API and the CSV
# exports write plain values (1234.56), since they never go through localisation.
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["omni.formats"]

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST API -------------------------------------------------------------------
API_THROTTLE_RATE = os.environ.get("API_THROTTLE_RATE", "1200/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "omni.api.authentication.BearerKeyAuthentication",
        "omni.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["omni.api.permissions.Authorised"],
    "DEFAULT_THROTTLE_CLASSES": ["omni.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": API_THROTTLE_RATE},
    "DEFAULT_PAGINATION_CLASS": "omni.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["omni.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "omni.api.schema.OmniAutoSchema",
    "EXCEPTION_HANDLER": "omni.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": None,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Omni API",
    "DESCRIPTION": (
        "The REST API of Omni, the omnichannel retail back-office. "
        "Authenticate with `Authorization: Bearer <key>`; every error body "
        "carries a `code` and a `detail`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI's files are served from the installed package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "ENUM_NAME_OVERRIDES": {"ChannelEnum": "omni.catalog.models.ChannelCode"},
    # One schema whatever the language asked for: generated clients stay the same.
    "DEFAULT_GENERATOR_CLASS": "omni.api.schema.StableSchemaGenerator",
}

# A deadlock or serialization failure is retried this many times in all before answering 409 `busy`.
DB_RETRY_ATTEMPTS = int(os.environ.get("DB_RETRY_ATTEMPTS", "4"))

# Idempotency keys are kept this long (contract: 24 hours).
IDEMPOTENCY_TTL_SECONDS = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS", str(24 * 3600)))
# A claim on a key whose request has not answered lapses after this many seconds (a worker that died
# before committing), so a retry runs again; a request still running keeps its claim however long it takes.
IDEMPOTENCY_LEASE_SECONDS = int(os.environ.get("IDEMPOTENCY_LEASE_SECONDS", "30"))

# --- Celery ----------------------------------------------------------------------
# Without a broker, tasks run eagerly inside the process (the embedded default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# The demo's broker is a folder of files (kombu's filesystem transport: CELERY_BROKER_URL=filesystem://), so
# its worker and scheduler need no server; results are then not kept (the work itself is in the database).
CELERY_BROKER_ON_FILES = CELERY_BROKER_URL.startswith("filesystem://")
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND", None if CELERY_BROKER_ON_FILES else (CELERY_BROKER_URL or None)
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hang a request: give up quickly, the outbox
# keeps the message and the relay sends it later.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 1,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
if CELERY_BROKER_ON_FILES:
    # Messages are files in CELERY_BROKER_FOLDER (one folder both ways: every process reads and writes the same
    # queues), the exchange tables in its "control" folder. Both must exist before the first message.
    CELERY_BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER") or BASE_DIR / ".broker")
    for _folder in (CELERY_BROKER_FOLDER / "messages", CELERY_BROKER_FOLDER / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "messages"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "messages"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "polling_interval": 1,
    }
# What a request publishes after its commit waits at most this long on the broker (omni/outbox.py).
OUTBOX_PUBLISH_TIMEOUT = float(os.environ.get("OUTBOX_PUBLISH_TIMEOUT", "0.1"))
# Sending a task also subscribes to its result, and Celery tries that twice when it fails: a result
# store that is down must not hold the request either, so each try gets half the time. Results are a
# convenience for operators; the work itself is in the database.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = OUTBOX_PUBLISH_TIMEOUT / 2
CELERY_REDIS_SOCKET_TIMEOUT = OUTBOX_PUBLISH_TIMEOUT / 2
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 0}}
# Queues by kind of work, so that a long job of one kind never holds up another: a 100,000-line
# receipt import waits only behind other imports, never in front of a KPI refresh or the outbox.
# Tasks are routed by name; a task not named here goes to the default queue, "celery". Run one
# worker per queue, or one worker for all of them with `-Q` + ",".join(WORKER_QUEUES) (README).
WORKER_QUEUES = ["orders", "kpis", "imports", "webhooks", "scheduled", "celery"]
CELERY_TASK_ROUTES = {
    # Files: minutes of work each.
    "orders.import_receipts": {"queue": "imports"},
    "*.import_*": {"queue": "imports"},
    # Long admin actions run as background jobs (omni/jobs.py): minutes too, so beside the files.
    "kpis.recompute_days": {"queue": "imports"},
    # Orders and the outbox: the relay re-sends what a request could not hand to the broker.
    "omni.relay_outbox": {"queue": "orders"},
    "orders.*": {"queue": "orders"},
    # The KPI refreshes each sale queues through the outbox.
    "kpis.refresh_day": {"queue": "kpis"},
    "kpis.count_periods": {"queue": "kpis"},
    "webhooks.*": {"queue": "webhooks"},
    # Receipts and "ready for pick-up" messages: short, sent right after the sale's commit.
    "customers.send_message": {"queue": "orders"},
    # The beat jobs: nightly and periodic sweeps.
    "omni.purge_idempotency_keys": {"queue": "scheduled"},
    "loyalty.expire_points": {"queue": "scheduled"},
    "loyalty.recompute_tiers": {"queue": "scheduled"},
    "inventory.release_expired_holds": {"queue": "scheduled"},
    "inventory.propose_replenishment": {"queue": "scheduled"},
    "kpis.rollup_yesterday": {"queue": "scheduled"},
    "omni.ensure_partitions": {"queue": "scheduled"},
}
CELERY_BEAT_SCHEDULE = {
    "omni-outbox-relay": {"task": "omni.relay_outbox", "schedule": 60.0},
    "webhooks-send-due": {"task": "webhooks.send_due", "schedule": 60.0},
    "omni-idempotency-purge": {"task": "omni.purge_idempotency_keys", "schedule": 3600.0},
    "loyalty-expire-points": {"task": "loyalty.expire_points", "schedule": crontab(hour=2, minute=15)},
    "loyalty-recompute-tiers": {"task": "loyalty.recompute_tiers", "schedule": crontab(hour=2, minute=45)},
    "inventory-release-expired-holds": {"task": "inventory.release_expired_holds", "schedule": 300.0},
    "kpis-rollup-yesterday": {
        "task": "kpis.rollup_yesterday",
        "schedule": crontab(hour=1, minute=30),
        "kwargs": {"days": 2},  # yesterday and the day before, for late events
    },
    "inventory-propose-replenishment": {
        "task": "inventory.propose_replenishment",
        "schedule": crontab(hour=2, minute=30),
    },
    # Daily, though a month is needed only monthly: a missed night (a worker down) then costs nothing.
    "omni-ensure-partitions": {"task": "omni.ensure_partitions", "schedule": crontab(hour=3, minute=10)},
}
# Monthly partitions (PostgreSQL, omni/partitioning.py): the task keeps this many months after the
# current one created, so inserts never fall into the DEFAULT partition in normal operation.
PARTITION_MONTHS_AHEAD = int(os.environ.get("PARTITION_MONTHS_AHEAD", "3"))

# CELERY_BEAT_EVERY_SECONDS (the demo: 300) makes every periodic job run at least that often: the nightly ones
# run every that many seconds instead of once a night, and a job that already runs more often keeps its interval.
# A demo that runs for an afternoon then sees tiers, points expiry, replenishment and the KPI rollup happen.
CELERY_BEAT_EVERY_SECONDS = float(os.environ.get("CELERY_BEAT_EVERY_SECONDS") or 0)
if CELERY_BEAT_EVERY_SECONDS > 0:
    for _job in CELERY_BEAT_SCHEDULE.values():
        _every = _job["schedule"]
        if not isinstance(_every, float) or _every > CELERY_BEAT_EVERY_SECONDS:
            _job["schedule"] = CELERY_BEAT_EVERY_SECONDS

# A pick-up ready for longer than this many days is overdue: the clerk's home page counts them.
PICKUP_OVERDUE_DAYS = int(os.environ.get("PICKUP_OVERDUE_DAYS", "7"))
# KPIs: an online order credits the store of the customer's previous purchase within this many days;
# product views this many days before a purchase count as research. Changing either needs rebuild_kpis.
KPIS_INFLUENCE_DAYS = int(os.environ.get("KPIS_INFLUENCE_DAYS", "30"))
KPIS_JOURNEY_DAYS = int(os.environ.get("KPIS_JOURNEY_DAYS", "14"))
# The social networks whose daily figures are accepted (comma separated): a typo would split a network in two.
KPIS_SOCIAL_NETWORKS = tuple(
    name.strip().lower()
    for name in os.environ.get(
        "KPIS_SOCIAL_NETWORKS", "instagram,facebook,tiktok,youtube,linkedin,pinterest,x,threads"
    ).split(",")
    if name.strip()
)

# Webhooks may go to plain http and private addresses (a laptop, a test server) only when this is on;
# by default it follows DEBUG. In production every subscribed URL must be https on a public address.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", DEBUG)
# Who is told by e-mail when a webhook subscription has failed for a day: "Name <email>, ...".
ADMINS = [
    (address.split("<")[0].strip() or address, address.split("<")[-1].rstrip(">").strip())
    for address in env_list("ADMINS", [])
]
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "omni@localhost")
# The sender of receipts and "ready for pick-up" e-mails to customers.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", SERVER_EMAIL)
# Mail goes to the console until EMAIL_HOST names an SMTP server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
# Text messages to customers (ready for pick-up) go through this backend, as mail goes through
# EMAIL_BACKEND: the console by default; "customers.sms.backends.LocmemBackend" keeps them in memory.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "customers.sms.backends.ConsoleBackend")
# A message whose send fails is tried again after MESSAGE_RETRY_SECONDS, doubled each time, up to
# MESSAGE_MAX_ATTEMPTS tries in all; then it is marked failed (the order it tells about is untouched).
MESSAGE_RETRY_SECONDS = float(os.environ.get("MESSAGE_RETRY_SECONDS", "60"))
MESSAGE_MAX_ATTEMPTS = int(os.environ.get("MESSAGE_MAX_ATTEMPTS", "5"))
# Stock count and social figures files longer than this are applied by a background job (omni/jobs.py).
IMPORT_IN_REQUEST_ROWS = int(os.environ.get("IMPORT_IN_REQUEST_ROWS", "2000"))

# Sourcing ships from warehouses before stores unless this is turned off.
INVENTORY_PREFER_WAREHOUSES = env_bool("INVENTORY_PREFER_WAREHOUSES", True)

# Imports (stock counts, receipts, social figures): the largest file accepted, in bytes.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
# Receipt files longer than this many lines import in the background, with a progress page.
RECEIPT_IMPORT_IN_REQUEST_LINES = int(os.environ.get("RECEIPT_IMPORT_IN_REQUEST_LINES", "2000"))

# --- Logging --------------------------------------------------------------------
# Every record goes through the one handler, whose filter masks e-mails, phones and
# card numbers (omni/logs.py). Django's own loggers are routed to it too: by default
# they keep handlers of their own that would write request paths unmasked.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"personal_data": {"()": "omni.logs.PersonalDataFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["personal_data"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in the process that asks for them (the demo, a laptop): Celery's line for every task done would
    # bury a command's own output (seed_demo, relay_outbox) under hundreds of "succeeded" lines.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
