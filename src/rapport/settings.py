"""Rapport's one settings module: every value comes from ``rapport.config``."""

from __future__ import annotations

from pathlib import Path

from rapport import config

BASE_DIR = Path(__file__).resolve().parent

DATA_DIR = config.data_dir()
SECRET_KEY = config.secret_key(DATA_DIR)
DEBUG = config.env_bool("RAPPORT_DEBUG", False)
ALLOWED_HOSTS = config.env_list("RAPPORT_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("RAPPORT_CSRF_TRUSTED_ORIGINS", [])
TESTING = config.env_bool("RAPPORT_TESTING", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "corsheaders",
    "csp",
    "django_filters",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "rapport.core",
    "rapport.accounts",
    "rapport.contacts",
    "rapport.activities",
    "rapport.notifications",
    "rapport.tasks",
    "rapport.attachments",
    "rapport.mail",
    "rapport.calendar",
    "rapport.sales",
    "rapport.exchange",
    "rapport.privacy",
    "rapport.web",
]
if TESTING:
    INSTALLED_APPS.append("rapport.testing")

MIDDLEWARE = [
    "rapport.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rapport.accounts.middleware.SessionIdleTimeoutMiddleware",
    "rapport.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.web.context_processors.navigation",
                "rapport.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {"default": config.database(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["rapport.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS.insert(0, "rapport.testing.hashers.FastArgon2PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": config.env_int("RAPPORT_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Invitations use the same links; three days leaves time to answer one.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
# Never served as /media/: attachments are streamed by views that check permissions.
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": config.file_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
ATTACHMENT_MAX_BYTES = config.env_int("RAPPORT_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024, minimum=1)
ATTACHMENT_TYPES = config.attachment_types()

# Email in: the largest message accepted, the addresses `rapport mail-in` accepts mail
# for (BCC and forward-to-CRM), and whether forwarded or posted mail from an unknown
# sender creates a contact.
MAIL_IN_MAX_BYTES = config.env_int("RAPPORT_MAIL_IN_MAX_BYTES", 30 * 1024 * 1024, minimum=1024)
MAIL_IN_ADDRESSES = [
    address.lower() for address in config.env_list("RAPPORT_MAIL_IN_ADDRESSES", [])
]
MAIL_IN_CREATE_CONTACTS = config.env_bool("RAPPORT_MAIL_IN_CREATE_CONTACTS", False)

SESSION_COOKIE_AGE = config.env_int("RAPPORT_SESSION_AGE", 60 * 60 * 24 * 14, minimum=300)
SESSION_COOKIE_HTTPONLY = True
# Sign-in protection (docs/two-factor-and-sign-in.md). A session unused this many
# minutes ends (0: only SESSION_COOKIE_AGE ends it).
SESSION_IDLE_TIMEOUT = config.env_int("RAPPORT_SESSION_IDLE_MINUTES", 0) * 60
# Failed sign-ins (wrong password or two-factor code) allowed per account and per
# client address in a fixed window of LOGIN_LOCKOUT_WINDOW seconds (at most a day).
LOGIN_MAX_FAILURES = config.env_int("RAPPORT_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = config.env_int("RAPPORT_LOGIN_MAX_FAILURES_PER_IP", 20, minimum=1)
LOGIN_LOCKOUT_WINDOW = config.env_int("RAPPORT_LOGIN_LOCKOUT_MINUTES", 15, minimum=1) * 60
if LOGIN_LOCKOUT_WINDOW > 24 * 60 * 60:
    raise config.ConfigError("RAPPORT_LOGIN_LOCKOUT_MINUTES", "use at most 1440 (a day)")
# Password reset emails asked for per client address per hour.
PASSWORD_RESET_MAX_PER_IP = config.env_int("RAPPORT_PASSWORD_RESET_MAX_PER_IP", 10, minimum=1)
# Days sign-in events are kept for the login history.
LOGIN_HISTORY_DAYS = config.env_int("RAPPORT_LOGIN_HISTORY_DAYS", 90, minimum=1)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if config.env_bool("RAPPORT_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = config.env_bool("RAPPORT_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = config.env_bool("RAPPORT_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain to HTTPS for good: an owner's choice, made
        # with RAPPORT_HSTS_PRELOAD, not a defect `check --deploy` should report.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_SSL_REDIRECT = config.env_bool("RAPPORT_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Nothing runs but our own static files: no inline script or style, no eval (htmx is
# told not to inject its indicator style, see web/base.html). Pages meant to be framed
# elsewhere (the public web form) widen frame-ancestors for themselves only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# The API answers other sites' scripts only from the origins listed; browsers send no
# cookies with them, so such a script authenticates with a token.
CORS_ALLOWED_ORIGINS = config.cors_origins()
CORS_URLS_REGEX = r"^/api/(?!v1/web-forms/[^/]+/submissions)"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
]
CORS_EXPOSE_HEADERS = ["etag", "link", "location", "retry-after"]
# API rate limits: per token, and per client address for browser-session calls.
API_RATE_LIMIT = config.rate_limit("RAPPORT_API_RATE_LIMIT", "600/min")
API_IP_RATE_LIMIT = config.rate_limit("RAPPORT_API_IP_RATE_LIMIT", "600/min")
# How many reverse proxies in front of Rapport append to X-Forwarded-For: the client's
# address is read that many entries from its end (0: the connection's address).
PROXY_COUNT = config.env_int("RAPPORT_PROXY_COUNT", 0)

_email = config.email()
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = _email.default_from
SERVER_EMAIL = _email.default_from
# Where users reach Rapport, for links in emails that background jobs send.
SITE_URL = config.env("RAPPORT_SITE_URL", "http://localhost:8000").rstrip("/")
# The seller on quotes (their PDF and public page): the workspace's name and postal
# address, its lines separated by ";".
COMPANY_NAME = config.env("RAPPORT_COMPANY_NAME", "Rapport")
COMPANY_ADDRESS = config.company_address()

TASK_BACKEND = config.task_backend()
if TASK_BACKEND.kind == "redis":
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": TASK_BACKEND.redis_url, "DEFAULT_TIMEOUT": 3600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND.kind == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A worker writes its heartbeat every WORKER_HEARTBEAT_SECONDS; one silent for
# WORKER_STALE_SECONDS is taken for dead: /health stops counting it, and its
# running jobs are taken over by the others.
WORKER_HEARTBEAT_SECONDS = config.env_int("RAPPORT_WORKER_HEARTBEAT_SECONDS", 5, minimum=1)
WORKER_STALE_SECONDS = config.env_int("RAPPORT_WORKER_STALE_SECONDS", 60, minimum=2)
if WORKER_STALE_SECONDS <= 2 * WORKER_HEARTBEAT_SECONDS:
    raise config.ConfigError(
        "RAPPORT_WORKER_STALE_SECONDS", "must be more than twice RAPPORT_WORKER_HEARTBEAT_SECONDS"
    )

LOG_FORMAT = config.env("RAPPORT_LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise config.ConfigError("RAPPORT_LOG_FORMAT", f"use text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "rapport.core.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": config.env("RAPPORT_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_MAX_LIMIT = 200

# The currency exchange rates convert to and reports add up in (ISO 4217 code).
BASE_CURRENCY = config.base_currency()

# Phone numbers typed without a country code are read as numbers of this country.
PHONE_REGION = config.env("RAPPORT_PHONE_REGION", "US").upper()
if not (len(PHONE_REGION) == 2 and PHONE_REGION.isascii() and PHONE_REGION.isalpha()):
    raise config.ConfigError(
        "RAPPORT_PHONE_REGION", f"use a two-letter country code such as US, got {PHONE_REGION!r}"
    )

# Imports: the largest file accepted, and how many rows each committed batch holds.
IMPORT_MAX_BYTES = config.env_int("RAPPORT_IMPORT_MAX_MB", 500, minimum=1) * 1_000_000
IMPORT_BATCH_ROWS = config.env_int("RAPPORT_IMPORT_BATCH_ROWS", 500, minimum=1)
