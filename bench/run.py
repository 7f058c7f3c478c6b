"""Rapport's benchmarks: ``make bench`` (or ``python bench/run.py --help``).

Each benchmark times Rapport's code path and, in the same run on the same
data, a ceiling: the fastest hand-written SQL that does the same job. The
figure that matters is the ratio, which stays meaningful across machines.
Results go to ``bench/RESULTS.md`` and ``bench/results.json``.

Runs on a throw-away SQLite database unless ``RAPPORT_BENCH_DATABASE_URL``
names a PostgreSQL database (whose users, teams, audit log and outbox it empties).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def configure_environment() -> None:
    os.environ["RAPPORT_DATA_DIR"] = tempfile.mkdtemp(prefix="rapport-bench-")
    os.environ["RAPPORT_DATABASE_URL"] = os.environ.get("RAPPORT_BENCH_DATABASE_URL", "")
    os.environ["RAPPORT_TASK_BACKEND"] = "database"
    os.environ["RAPPORT_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The median of ``repeat`` timings of ``action``, in seconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def result(name: str, rows: int, rapport: float, ceiling: float, note: str) -> dict:
    return {
        "name": name,
        "rows": rows,
        "rapport_ms": round(rapport * 1000, 3),
        "ceiling_ms": round(ceiling * 1000, 3),
        "ratio": round(rapport / ceiling, 2) if ceiling else None,
        "note": note,
    }


def seed_audit_entries(count: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from rapport.accounts.models import Team
    from rapport.core.models import AuditEntry

    content_type = ContentType.objects.get_for_model(Team)
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        AuditEntry.objects.bulk_create(
            AuditEntry(
                at=now,
                actor_label="bench",
                source="system",
                action="update",
                content_type=content_type,
                object_id=str(number % 5000),
                object_repr=f"Team {number}",
                changes={"name": [f"a{number}", f"b{number}"]},
            )
            for number in range(start, min(start + batch, count))
        )


def bench_keyset(rows: int, repeat: int) -> list[dict]:
    """A page deep in the audit log: keyset pagination against the raw indexed query."""
    from django.db import connection

    from rapport.core.models import AuditEntry
    from rapport.core.pagination import encode_cursor, keyset_page

    seed_audit_entries(rows)
    entries = AuditEntry.objects.all()
    ordering = ["-id"]
    deep_row = entries.order_by("id")[rows // 10]
    cursor = encode_cursor(deep_row, ordering)
    table = AuditEntry._meta.db_table

    def rapport_page() -> None:
        page = keyset_page(entries, ordering=ordering, cursor=cursor, limit=50)
        assert len(page.items) == 50

    def raw_page() -> None:
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT * FROM {table} WHERE id < %s ORDER BY id DESC LIMIT 51", [deep_row.pk]
            )
            assert len(sql.fetchall()) == 51

    def offset_page() -> None:
        assert len(list(entries.order_by("-id")[rows - rows // 10 : rows - rows // 10 + 50])) == 50

    keyset = best_of(repeat, rapport_page)
    ceiling = best_of(repeat, raw_page)
    offset = best_of(repeat, offset_page)
    return [
        result(
            "keyset page 90% deep in the audit log",
            rows,
            keyset,
            ceiling,
            f"ceiling: raw SQL on the primary key; OFFSET paging: {offset * 1000:.1f} ms",
        )
    ]


def bench_outbox(events: int) -> list[dict]:
    """Delivering pending events to a handler, against marking the same rows delivered in SQL."""
    from django.db import connection
    from django.utils import timezone

    from rapport.core.dispatch import dispatch_pending
    from rapport.core.events import subscribe, unsubscribe
    from rapport.core.models import OutboxEvent

    def make_events() -> None:
        OutboxEvent.objects.all().delete()
        OutboxEvent.objects.bulk_create(
            OutboxEvent(name="bench.happened", aggregate_type="bench", aggregate_id=str(n % 500))
            for n in range(events)
        )

    delivered: list[int] = []

    def handler(event: OutboxEvent) -> None:
        delivered.append(event.pk)

    subscribe("bench.*", handler)
    try:
        make_events()
        started = time.perf_counter()
        while dispatch_pending(batch=500, worker_id="bench"):
            pass
        rapport = time.perf_counter() - started
    finally:
        unsubscribe("bench.*", handler)
    assert len(delivered) == events, (len(delivered), events)

    make_events()
    table = OutboxEvent._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as sql:
        sql.execute(f"SELECT id FROM {table} WHERE status = 'pending' ORDER BY id")
        ids = [row[0] for row in sql.fetchall()]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql.execute(
                f"UPDATE {table} SET status = 'delivered', delivered_at = %s "
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [timezone.now(), *chunk],
            )
    ceiling = time.perf_counter() - started
    return [
        result(
            "outbox dispatch of pending events",
            events,
            rapport,
            ceiling,
            f"{events / rapport:,.0f} events/s; ceiling: one UPDATE per 500 ids, no handler calls",
        )
    ]


def bench_audited_writes(count: int) -> list[dict]:
    """Creating teams through the service (validation, audit, event) against bare INSERTs."""
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.accounts import services
    from rapport.accounts.models import Role, Team, User
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    admin = User.objects.create_user(
        username="bench", email="bench@example.com", role=Role.objects.get(slug="admin")
    )
    actor = Actor(user=admin, source=Source.CLI)
    started = time.perf_counter()
    for number in range(count):
        services.team_create(actor=actor, name=f"Service team {number}")
    rapport = time.perf_counter() - started

    table = Team._meta.db_table
    started = time.perf_counter()
    for number in range(count):
        with transaction.atomic(), connection.cursor() as sql:
            now = timezone.now()
            sql.execute(
                f"INSERT INTO {table} (name, description, created_at, updated_at, version) "
                "VALUES (%s, '', %s, %s, 1)",
                [f"Raw team {number}", now, now],
            )
    ceiling = time.perf_counter() - started
    return [
        result(
            "audited create (team_create) per record",
            count,
            rapport / count,
            ceiling / count,
            "ceiling: one bare INSERT per transaction, no validation, audit or event",
        )
    ]


def empty_tables() -> None:
    """Start from empty tables (roles stay: they ship as data)."""
    from rapport.accounts.models import Team, User
    from rapport.core.models import AuditEntry, OutboxEvent

    for model in (AuditEntry, OutboxEvent, Team, User):
        model.objects.all().delete()


def write_results(results: list[dict], database: str, rows: int) -> None:
    payload = {
        "database": database,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "audit_rows": rows,
        "results": results,
    }
    (HERE / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {database}, Python {payload['python']} ({payload['machine']}).",
        "Times are medians; the ratio is Rapport's time over the ceiling measured in the same run.",
        "",
        "| Benchmark | Rows | Rapport (ms) | Ceiling (ms) | Ratio | Note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for item in results:
        lines.append(
            f"| {item['name']} | {item['rows']:,} | {item['rapport_ms']} | {item['ceiling_ms']} "
            f"| {item['ratio']} | {item['note']} |"
        )
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="audit entries to page through")
    parser.add_argument("--events", type=int, default=20_000, help="outbox events to dispatch")
    parser.add_argument("--writes", type=int, default=1_000, help="audited creates to time")
    parser.add_argument("--repeat", type=int, default=20, help="timings per query benchmark")
    args = parser.parse_args()

    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    empty_tables()
    database = connection.vendor
    results = [
        *bench_keyset(args.rows, args.repeat),
        *bench_outbox(args.events),
        *bench_audited_writes(args.writes),
    ]
    write_results(results, database, args.rows)
    for item in results:
        print(
            f"{item['name']}: {item['rapport_ms']} ms vs {item['ceiling_ms']} ms (x{item['ratio']})"
        )
    print(f"Written to {HERE / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
