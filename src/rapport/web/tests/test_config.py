"""Configuration from RAPPORT_* variables: defaults, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rapport import config


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in (
        "RAPPORT_DATABASE_URL",
        "RAPPORT_SECRET_KEY",
        "RAPPORT_TASK_BACKEND",
        "RAPPORT_EMAIL_URL",
        "RAPPORT_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    return tmp_path


def test_nothing_set_means_sqlite_in_wal_mode_under_the_data_dir(clean_env: Path) -> None:
    database = config.database(config.data_dir())

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(clean_env / "rapport.sqlite3")
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_secret_key_is_generated_once_and_kept(clean_env: Path) -> None:
    first = config.secret_key(clean_env)
    second = config.secret_key(clean_env)

    assert first == second
    assert len(first) >= 50
    assert (clean_env / "secret_key").stat().st_mode & 0o777 == 0o600


def test_postgres_url_is_parsed_with_persistent_connections(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgres://crm:s3cret@db.internal:5433/rapport")

    database = config.database(clean_env)

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        5433,
        "rapport",
    )
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RAPPORT_DATABASE_URL", "mysql://x@y/z", "unsupported database 'mysql'"),
        ("RAPPORT_DATABASE_URL", "not a url", "unsupported database"),
        ("RAPPORT_DATABASE_URL", "postgres://host", "names no database"),
        ("RAPPORT_TASK_BACKEND", "celery", "unknown backend 'celery'"),
        ("RAPPORT_DEBUG", "maybe", "expected true or false"),
        ("RAPPORT_EMAIL_URL", "pigeon://coop", "unknown scheme 'pigeon'"),
        ("RAPPORT_SECRET_KEY", "short", "at least 32 characters"),
        ("RAPPORT_WORKER_STALE_SECONDS", "10", "more than twice"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    clean_env, variable: str, value: str, message: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "RAPPORT_DATA_DIR": str(clean_env), variable: value}
    # The code under test, where the suite runs from a checkout that is not the installed one.
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]

    result = subprocess.run(
        [sys.executable, "-m", "rapport", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"rapport: configuration error: {variable}: ")
    assert message in lines[0]


def test_email_url_with_tls_and_credentials(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_EMAIL_URL", "smtp+tls://mailer%40acme.test:p%40ss@smtp.acme.test")

    email = config.email()

    assert (email.host, email.port, email.use_tls) == ("smtp.acme.test", 587, True)
    assert (email.user, email.password) == ("mailer@acme.test", "p@ss")


def test_redis_task_backend(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_TASK_BACKEND", "redis://127.0.0.1:6379/3")

    backend = config.task_backend()

    assert (backend.kind, backend.redis_url) == ("redis", "redis://127.0.0.1:6379/3")
