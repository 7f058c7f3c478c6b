"""Read Rapport's configuration from ``RAPPORT_*`` environment variables.

Every setting Rapport has comes from here, so a bad value is caught once, at
start-up, with one line naming the variable (``ConfigError``).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
TASK_BACKENDS = ("database", "immediate", "redis")


class ConfigError(Exception):
    """A ``RAPPORT_*`` variable holds a value Rapport cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class TaskBackendConfig:
    kind: str
    redis_url: str = ""


def env(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    path = Path(env("RAPPORT_DATA_DIR", "var")).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError("RAPPORT_DATA_DIR", f"cannot create {path}: {error.strerror}") from None
    return path


def secret_key(directory: Path) -> str:
    """The configured key, or one generated once and kept under the data dir."""
    configured = env("RAPPORT_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigError("RAPPORT_SECRET_KEY", "must be at least 32 characters long")
        return configured
    key_file = directory / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database(directory: Path) -> dict:
    url = env("RAPPORT_DATABASE_URL")
    if not url:
        return sqlite_database(directory / "rapport.sqlite3")
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.split("://", 1)[1] if "://" in url else ""
        if not path.startswith("/") or path == "/":
            raise ConfigError("RAPPORT_DATABASE_URL", "use sqlite:////absolute/path.sqlite3")
        return sqlite_database(Path(path))
    if scheme not in ("postgres", "postgresql", "pgsql"):
        raise ConfigError(
            "RAPPORT_DATABASE_URL",
            f"unsupported database {scheme or url!r}; use postgres://… or sqlite:////path",
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("RAPPORT_CONN_MAX_AGE", 60))
    except ValueError as error:
        raise ConfigError("RAPPORT_DATABASE_URL", f"cannot parse: {error}") from None
    if not config.get("NAME"):
        raise ConfigError("RAPPORT_DATABASE_URL", "names no database (postgres://user@host/NAME)")
    config["CONN_HEALTH_CHECKS"] = True
    config["TEST"] = {"NAME": f"test_{config['NAME']}"}
    return config


def sqlite_database(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # WAL lets the worker write while pages read; IMMEDIATE avoids
        # "database is locked" upgrades from read to write locks.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
            ),
        },
        # A file, not memory, so the live server, the worker and subprocesses
        # of the test suite share one test database.
        "TEST": {"NAME": str(path.with_name("test_" + path.name))},
    }


CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def base_currency() -> str:
    """The workspace's base currency: every exchange rate is a price in it."""
    code = env("RAPPORT_BASE_CURRENCY", "USD").upper()
    if not CURRENCY_CODE.fullmatch(code):
        raise ConfigError(
            "RAPPORT_BASE_CURRENCY", f"use a three-letter ISO 4217 code such as EUR, got {code!r}"
        )
    return code


def task_backend() -> TaskBackendConfig:
    raw = env("RAPPORT_TASK_BACKEND", "database")
    if raw in ("database", "immediate"):
        return TaskBackendConfig(kind=raw)
    if raw.startswith(("redis://", "rediss://")):
        return TaskBackendConfig(kind="redis", redis_url=raw)
    raise ConfigError(
        "RAPPORT_TASK_BACKEND",
        f"unknown backend {raw!r}; use database, immediate or redis://host:6379/0",
    )


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    default_from: str = ""


def email() -> EmailConfig:
    """``smtp://user:pass@host:port``, ``smtp+tls://…``, ``smtps://…`` or ``console:``."""
    raw = env("RAPPORT_EMAIL_URL", "console:")
    default_from = env("RAPPORT_EMAIL_FROM", "Rapport <rapport@localhost>")
    parts = urlsplit(raw)
    if parts.scheme == "console":
        return EmailConfig(
            "django.core.mail.backends.console.EmailBackend", default_from=default_from
        )
    if parts.scheme == "memory":
        return EmailConfig(
            "django.core.mail.backends.locmem.EmailBackend", default_from=default_from
        )
    if parts.scheme not in ("smtp", "smtp+tls", "smtps"):
        raise ConfigError(
            "RAPPORT_EMAIL_URL",
            f"unknown scheme {parts.scheme!r}; use smtp://, smtp+tls://, smtps:// or console:",
        )
    try:
        port = parts.port or {"smtp": 25, "smtp+tls": 587, "smtps": 465}[parts.scheme]
    except ValueError:
        raise ConfigError("RAPPORT_EMAIL_URL", "the port is not a number") from None
    if not parts.hostname:
        raise ConfigError("RAPPORT_EMAIL_URL", "names no host (smtp://host:port)")
    query = parse_qs(parts.query)
    return EmailConfig(
        "django.core.mail.backends.smtp.EmailBackend",
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=parts.scheme == "smtp+tls",
        use_ssl=parts.scheme == "smtps",
        default_from=query.get("from", [default_from])[0],
    )


# What may be attached to records: office documents, PDFs, images, text and mail.
DEFAULT_ATTACHMENT_TYPES = [
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "application/zip",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "message/rfc822",
]
MEDIA_TYPE_PATTERN = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/(?:[a-z0-9][a-z0-9!#$&^_.+-]*|\*)")
S3_BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_ADDRESSING_STYLES = ("auto", "virtual", "path")
S3_VARIABLES = (
    "RAPPORT_S3_ENDPOINT_URL",
    "RAPPORT_S3_REGION",
    "RAPPORT_S3_ACCESS_KEY_ID",
    "RAPPORT_S3_SECRET_ACCESS_KEY",
    "RAPPORT_S3_PREFIX",
    "RAPPORT_S3_ADDRESSING_STYLE",
)


def attachment_types() -> list[str]:
    """Media types (``application/pdf``) or whole families (``image/*``) one may attach."""
    types = [item.lower() for item in env_list("RAPPORT_ATTACHMENT_TYPES", [])]
    for item in types:
        if not MEDIA_TYPE_PATTERN.fullmatch(item):
            raise ConfigError(
                "RAPPORT_ATTACHMENT_TYPES",
                f"{item!r} is not a media type such as application/pdf or image/*",
            )
    return types or list(DEFAULT_ATTACHMENT_TYPES)


def file_storage() -> dict:
    """Django's default storage: the media dir under the data dir, or an S3 bucket
    when ``RAPPORT_S3_BUCKET`` names one (any S3-compatible service, through
    ``RAPPORT_S3_ENDPOINT_URL``)."""
    bucket = env("RAPPORT_S3_BUCKET")
    if not bucket:
        for name in S3_VARIABLES:
            if env(name):
                raise ConfigError(name, "set RAPPORT_S3_BUCKET too, or unset this variable")
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if not S3_BUCKET_PATTERN.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            "RAPPORT_S3_BUCKET",
            f"{bucket!r} is not a bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        )
    options: dict = {
        "bucket_name": bucket,
        "location": s3_prefix(),
        # Files are private: Rapport streams them after a permission check and
        # never hands out bucket URLs, so the bucket's own (private) ACL applies.
        "default_acl": None,
        "file_overwrite": False,
    }
    endpoint = env("RAPPORT_S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "RAPPORT_S3_ENDPOINT_URL", "use http(s)://host[:port] of the S3-compatible service"
            )
        options["endpoint_url"] = endpoint
    if env("RAPPORT_S3_REGION"):
        options["region_name"] = env("RAPPORT_S3_REGION")
    style = env("RAPPORT_S3_ADDRESSING_STYLE", "auto")
    if style not in S3_ADDRESSING_STYLES:
        raise ConfigError(
            "RAPPORT_S3_ADDRESSING_STYLE", f"use auto, virtual or path, got {style!r}"
        )
    if style != "auto":
        options["addressing_style"] = style
    options |= s3_credentials()
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def s3_prefix() -> str:
    prefix = env("RAPPORT_S3_PREFIX").strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ConfigError(
            "RAPPORT_S3_PREFIX", f"{prefix!r} is not a key prefix such as rapport/files"
        )
    return prefix


def s3_credentials() -> dict:
    """Both keys, or neither (then boto3 finds credentials itself: instance role, ~/.aws)."""
    key_id = env("RAPPORT_S3_ACCESS_KEY_ID")
    secret = env("RAPPORT_S3_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        missing = "RAPPORT_S3_SECRET_ACCESS_KEY" if key_id else "RAPPORT_S3_ACCESS_KEY_ID"
        raise ConfigError(missing, "set both S3 access keys, or neither")
    return {"access_key": key_id, "secret_key": secret} if key_id else {}


def company_address() -> list[str]:
    """``RAPPORT_COMPANY_ADDRESS`` as lines: the text split at each ";"."""
    return [line.strip() for line in env("RAPPORT_COMPANY_ADDRESS", "").split(";") if line.strip()]


RATE_PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400}


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests per ``window`` seconds."""

    limit: int
    window: int


def rate_limit(name: str, default: str) -> RateLimit:
    """A rate such as ``600/min`` (periods: sec, min, hour, day)."""
    raw = env(name, default)
    count, _slash, period = raw.partition("/")
    try:
        limit = int(count)
    except ValueError:
        limit = 0
    if limit < 1 or period.strip().lower() not in RATE_PERIODS:
        raise ConfigError(
            name, f"expected a rate such as 600/min (sec, min, hour, day), got {raw!r}"
        )
    return RateLimit(limit=limit, window=RATE_PERIODS[period.strip().lower()])


def cors_origins() -> list[str]:
    """Origins (``https://app.example.com``) whose scripts may call the API."""
    origins = env_list("RAPPORT_CORS_ORIGINS", [])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("",):
            raise ConfigError(
                "RAPPORT_CORS_ORIGINS",
                f"expected origins such as https://app.example.com, got {origin!r}",
            )
    return origins
