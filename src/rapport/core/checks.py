"""System checks run by ``rapport check`` and before ``serve`` and ``worker`` start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@register(Tags.security, "rapport")
def debug_on_a_public_host(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    public = [host for host in settings.ALLOWED_HOSTS if host not in LOCAL_HOSTS]
    if not (settings.DEBUG and public):
        return []
    return [
        Warning(
            "RAPPORT_DEBUG is on while Rapport answers on " + ", ".join(public) + ".",
            hint="Debug pages show settings and code to anyone; set RAPPORT_DEBUG=false.",
            id="rapport.W001",
        )
    ]


@register("rapport")
def sqlite_with_redis_queue(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    redis = settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    if not (sqlite and redis):
        return []
    return [
        Warning(
            "Tasks go to Redis but the database is a SQLite file.",
            hint=(
                "Workers on other machines cannot open that file. Use PostgreSQL "
                "(RAPPORT_DATABASE_URL=postgres://…), or RAPPORT_TASK_BACKEND=database."
            ),
            id="rapport.W002",
        )
    ]
