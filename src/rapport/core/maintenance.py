"""Upkeep the worker does on its own.

SQLite keeps no statistics unless asked: a long-running install whose tables
grew from hundreds to a million rows would plan queries from stale numbers
(a list page picking a table scan over its index). PostgreSQL's autovacuum
analyzes by itself, so this is SQLite only.
"""

from __future__ import annotations

from django.db import connection

from rapport.core.schedule import every

STATISTICS_INTERVAL = 6 * 3600
# Rows ANALYZE samples per index: enough for the planner, milliseconds on a million rows.
ANALYSIS_LIMIT = 1000


@every(STATISTICS_INTERVAL)
def refresh_sqlite_statistics() -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
