"""TraceTrack settings: one module, every knob read from the environment.

`.env.example` lists every variable with its default. The embedded default (no variables
set) is SQLite under `var/` and the local-memory cache, so a newcomer needs no servers.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tracetrack.env import env_bool, env_float, env_int, env_list, env_str
from tracetrack.logs import logging_config
from tracetrack.net import networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set "
            "DEBUG=1 for a local development run."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "tracetrack.apps.TraceTrackAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_admin_lightweight_date_hierarchy",
    "axes",
    "csp",
    "tracetrack.apps.KernelConfig",
    "accounts",
    "bags",
    "scans",
    "billing",
    "stats",
    "reports",
    # Last: its admin adds the back-office tools to the other apps' admins.
    "backoffice",
    "demo",
]

MIDDLEWARE = [
    # First: it times, logs and counts everything after it, and gives every answer its id.
    "tracetrack.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every page (Security, below), Permissions-Policy on every answer.
    "tracetrack.middleware.DocumentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a parameter, a form or the session cookie.
    "tracetrack.middleware.InputBoundsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tracetrack.middleware.SessionIdleMiddleware",
    # The language: the django_language cookie, else Accept-Language (API error details
    # follow it), else English; a signed-in user's own choice wins (below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must come last so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

DEBUG_TOOLBAR = DEBUG and env_bool("DEBUG_TOOLBAR", False)
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1"]

ROOT_URLCONF = "tracetrack.urls"
WSGI_APPLICATION = "tracetrack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.permissions",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tracetrack.sqlite3'}")


def _database(url: str) -> dict:
    """A DATABASES entry from a dj-database-url URL, with this project's options."""
    _db = dj_database_url.parse(url)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a pool that fails fast when PostgreSQL is down and never hands
        # out a connection that died with the server (tracetrack.db).
        _db["ENGINE"] = "tracetrack.db.postgresql"
        _db.setdefault("OPTIONS", {}).update({
            # New connections (the pool's, and the breaker's probe) give up quickly; psycopg
            # rounds anything below 2 s up to 2 s, as libpq does.
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 2, minimum=1),
            # A query whose packets go unanswered (a host or network gone) fails after this
            # long, instead of hanging a worker until TCP gives up minutes later.
            "tcp_user_timeout": env_int("DB_TCP_USER_TIMEOUT_MS", 5000, minimum=0),
        })
        # Django's native psycopg 3 pool. CONN_MAX_AGE must stay 0 with the pool: the pool, not
        # Django, keeps connections open, and persistent connections leak one per greenlet
        # under gevent.
        _db["CONN_MAX_AGE"] = 0
        _db["CONN_HEALTH_CHECKS"] = False
        if env_bool("DB_POOL", True):
            _db.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env_int("DB_POOL_MIN", 2, minimum=0),
                "max_size": env_int("DB_POOL_MAX", 8, minimum=1),
                "timeout": env_int("DB_POOL_TIMEOUT", 10, minimum=1),
            }
        # Server-side parameter binding lets psycopg prepare a statement it has run
        # DB_PREPARE_THRESHOLD times on a connection (pooled connections live long), so
        # PostgreSQL stops planning the hot queries again and again: planning the bag lookup's
        # eight joins cost ~2.5 ms of PostgreSQL CPU per request, more than running it (the
        # bench: lookups 86 → 146 req/s for one client, PostgreSQL CPU per child scan −25 %).
        # Django turns psycopg's prepared statements off unless `prepare_threshold` is given;
        # behind a transaction-pooling proxy (PgBouncer) set DB_SERVER_SIDE_BINDING=0.
        if env_bool("DB_SERVER_SIDE_BINDING", True):
            _db.setdefault("OPTIONS", {})["server_side_binding"] = True
            _db["OPTIONS"]["prepare_threshold"] = env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
    return _db


# The breaker (tracetrack.db): consecutive failures to reach PostgreSQL that open it, and how
# long it stays open before one request probes again.
DB_BREAKER_FAILURES = env_int("DB_BREAKER_FAILURES", 2, minimum=1)
DB_BREAKER_OPEN_SECONDS = env_float("DB_BREAKER_OPEN_SECONDS", 1.0, minimum=0.1)
DB_UNAVAILABLE_RETRY_AFTER = env_int("DB_UNAVAILABLE_RETRY_AFTER", 2, minimum=1)
_db = _database(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock up front, so two writers queue instead of
    # failing with "database is locked" halfway through a service; WAL lets reads go on.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
_db["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas (PostgreSQL streaming replication; tracetrack.db.replicas): reads that may
# be a second stale (lists, lookups, dashboards, exports, admin changelists) go to one that
# answers and lags at most REPLICA_MAX_LAG seconds; a user who wrote in the last
# READ_YOUR_WRITES_SECONDS reads from the primary (marked in Redis, so on every app server).
REPLICAS = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS", []), start=1):
    _replica = _database(_url)
    if _replica["ENGINE"] != "tracetrack.db.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS: replicas are PostgreSQL databases")
    _replica["TEST"] = {"MIRROR": "default"}  # tests read the one test database
    DATABASES[f"replica{_number}"] = _replica
    REPLICAS.append(f"replica{_number}")
REPLICA_MAX_LAG = env_float("REPLICA_MAX_LAG", 1.0, minimum=0.0)
REPLICA_CHECK_SECONDS = env_float("REPLICA_CHECK_SECONDS", 1.0, minimum=0.1)
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 5, minimum=1)
DATABASE_ROUTERS = ["tracetrack.db.replicas.ReplicaRouter"] if REPLICAS else []

# --- Cache, sessions ----------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "tt")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                # Redis down: every cache call answers "miss" instead of failing the request.
                "IGNORE_EXCEPTIONS": True,
                # Each command timed for the request's log line, Server-Timing and metrics.
                "REDIS_CLIENT_CLASS": "tracetrack.cache.TimedRedis",
                # hiredis, asking the kernel (not gevent) whether a pooled connection is clean.
                "PARSER_CLASS": "tracetrack.cache.HiredisParser",
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # Sessions read from Redis and written through to the database, so logins survive a
    # Redis outage (Django's cached_db, reading the session's user in the same round trip).
    SESSION_ENGINE = "accounts.sessions"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tracetrack",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    # The local-memory cache is per process and forgets on restart: keep sessions in the
    # database so that logins survive a runserver reload.
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Sessions expire after SESSION_IDLE_SECONDS without a request (DESIGN.md rule 13). A
# session is written again (its expiry pushed back) at most every SESSION_REFRESH_SECONDS,
# not on every request (tracetrack.middleware.SessionIdleMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_REFRESH_SECONDS = min(60, SESSION_COOKIE_AGE // 10)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Authentication ---------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with each request's session user read through the cache.
    "accounts.backends.CachedModelBackend",
]
# Argon2id first (accounts.hashers: why, and how hashing stays off gevent's event loop); the
# PBKDF2 hashes made before verify and are rewritten as Argon2id at the next login.
PASSWORD_HASHERS = ["accounts.hashers.Argon2idHasher", "accounts.hashers.PBKDF2Hasher"]
PASSWORD_HASH_CONCURRENCY = env_int("PASSWORD_HASH_CONCURRENCY", 2, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# django-axes: LOGIN_FAILURE_LIMIT failures per (username, IP) lock that pair out.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Reverse proxies in front of the app: the client is the address the outermost one saw
# (tracetrack.net.client_ip; django-axes counts the same way).
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
# The direct peers whose X-Request-ID is kept (a proxy that made one); others get a new id.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", ["127.0.0.1/32", "::1/128"])

OTP_TOTP_ISSUER = "TraceTrack"

TOKEN_TTL_DAYS = env_int("TOKEN_TTL_DAYS", 90, minimum=1)

# --- Rate limits (tracetrack.ratelimit: fixed windows in the cache; with the cache down,
# requests are served, and the limits resume when it is back) ---------------------------

RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATE_LIMIT_LOGIN = env_str("RATE_LIMIT_LOGIN", "10/m")
RATE_LIMIT_SCAN = env_str("RATE_LIMIT_SCAN", "1000/m")
RATE_LIMIT_API = env_str("RATE_LIMIT_API", "3000/m")
for _name in ("RATE_LIMIT_LOGIN", "RATE_LIMIT_SCAN", "RATE_LIMIT_API"):
    if not re.fullmatch(r"\d+/[smhd]", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must look like 100/m (count/s|m|h|d)")
# Without Redis the embedded default counts rate limits per process; that is accepted for a
# single-process development run and documented in the README.

# --- REST API (API.md) -----------------------------------------------------------------

REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate header makes "no credentials" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["tracetrack.api.throttling.ApiThrottle"],
    "DEFAULT_PAGINATION_CLASS": "tracetrack.api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["tracetrack.api.filtering.FilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "tracetrack.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tracetrack.api.schema.ApiAutoSchema",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TraceTrack API",
    "DESCRIPTION": "Warehouse bag tracking: bags, scans, bills. Errors are {code, detail} (+ errors for 400s).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BagStatusEnum": "bags.models.BagStatus",
        "BillStatusEnum": "billing.models.BillStatus",
        "BagKindEnum": "bags.models.BagKind",
    },
}

# --- Background jobs (Celery; README: Background jobs) ----------------------------------

# The broker: CELERY_BROKER_URL, else Redis when REDIS_URL is set. Without one (the embedded
# default) jobs run in a thread of the web process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or None
JOBS_BACKEND = env_str("JOBS_BACKEND", "celery" if CELERY_BROKER_URL else "thread")
if JOBS_BACKEND not in ("celery", "thread", "eager"):
    raise ImproperlyConfigured("JOBS_BACKEND must be celery, thread or eager")
if JOBS_BACKEND == "celery" and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("JOBS_BACKEND=celery needs CELERY_BROKER_URL (or REDIS_URL)")
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "tracetrack")
CELERY_TASK_IGNORE_RESULT = True  # a job's outcome is on its Job row
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a long import does not hold other tasks back
CELERY_TASK_ACKS_LATE = False  # a job a killed worker dropped is marked failed, not run twice
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = None  # set below from TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # our logging config (JSON lines) stays
IMPORT_JOB_THRESHOLD = env_int("IMPORT_JOB_THRESHOLD", 5000, minimum=0)
# The end-of-day summary e-mail (billing.eod): HH:MM in TIME_ZONE.
_eod = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", env_str("EOD_SUMMARY_AT", "20:00"))
if not _eod:
    raise ImproperlyConfigured("EOD_SUMMARY_AT must be HH:MM (24 h), for example 20:00")
EOD_SUMMARY_AT = (int(_eod.group(1)), int(_eod.group(2)))
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 120, minimum=5)

# --- Backups (manage.py backup / restore; README: Recovery) ------------------------------

BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEEP = env_int("BACKUP_KEEP", 14, minimum=1)
BACKUP_MAX_AGE_DAYS = env_int("BACKUP_MAX_AGE_DAYS", 30, minimum=1)
BACKUP_PG_BIN = env_str("BACKUP_PG_BIN", "")  # a folder with pg_dump and pg_restore; default: PATH

# --- E-mail -----------------------------------------------------------------------------

# SMTP when EMAIL_HOST is set; else printed on the console (the embedded default).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TraceTrack <tracetrack@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address people use, for links in e-mails.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")

# --- Business rules (DESIGN.md) ---------------------------------------------------------

# A code ceiling for PARENT_CAPACITY: the database check constraint on child_count uses it,
# so the setting can move below it without a migration.
PARENT_CAPACITY = env_int("PARENT_CAPACITY", 30, minimum=1, maximum=100)
UNDO_WINDOW = timedelta(seconds=env_int("UNDO_WINDOW", 3600, minimum=1))
PARENT_QR_PATTERN = env_str("PARENT_QR_PATTERN", r"^(SB\d{5}|M444-\d{5})$")
CHILD_QR_PATTERN = env_str("CHILD_QR_PATTERN", r"^[A-Z0-9][A-Z0-9-]{3,29}$")
# A child code may not start like a parent code: `SB00098X` is a misread parent label.
PARENT_PREFIX_PATTERN = env_str("PARENT_PREFIX_PATTERN", r"^(SB\d|M444-)")
for _name in ("PARENT_QR_PATTERN", "CHILD_QR_PATTERN", "PARENT_PREFIX_PATTERN"):
    try:
        re.compile(globals()[_name])
    except re.error as exc:
        raise ImproperlyConfigured(f"{_name} is not a valid regular expression: {exc}") from None
KG_PER_CHILD = env_float("KG_PER_CHILD", 1.0, minimum=0)
BILL_CAPACITY_MIN = env_int("BILL_CAPACITY_MIN", 1, minimum=1)
BILL_CAPACITY_CREATE_MAX = env_int("BILL_CAPACITY_CREATE_MAX", 50, minimum=1, maximum=100)
BILL_CAPACITY_MAX = env_int("BILL_CAPACITY_MAX", 100, minimum=1, maximum=100)
BILL_ID_PATTERN = r"^[A-Z0-9_-]{3,50}$"
BILL_RESERVED_IDS = ["SUMMARY"]

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = "en"
# The pages, the operators' messages and the API's error details speak English and Hindi
# (locale/hi, compiled .mo files in the repo); machine codes never change.
LANGUAGES = [("en", "English"), ("hi", "हिन्दी")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Kolkata")
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
USE_TZ = True
# Our own display formats per language (tracetrack/formats/<lang>/formats.py): times to the second.
FORMAT_MODULE_PATH = ["tracetrack.formats"]

# --- Static files -----------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and far-future cache headers from whitenoise, which needs `collectstatic`
    # at deploy; STATIC_MANIFEST=0 (tests, development) serves files as they are.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ---------------------------------------------------------------------------

HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# django-csp: scripts only from our own files (no inline script, no eval: the pages, the
# admin, the browsable API and Swagger UI all load theirs from /static/), nothing framed,
# forms posted only here. Inline styles stay allowed: the admin and Swagger UI use style
# attributes and <style> blocks, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# django-permissions-policy: the camera for our own pages (the scan page's scanner), no
# other powerful feature for anyone.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "bluetooth": [],
    "display-capture": [],
}
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^ready/$", r"^metrics$"]

# --- Logging, metrics, tracing (README: Operating it) ------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object a line (production, log aggregation); text: a human line (make run).
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text")
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# /metrics: loopback, these networks, or `Authorization: Bearer $METRICS_TOKEN`; else 403.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
for _name in ("METRICS_ALLOWED_IPS", "TRUSTED_PROXIES"):
    try:
        networks(tuple(globals()[_name]))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{_name}: {exc}") from None
