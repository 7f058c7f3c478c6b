"""Bulk inserts for loads that write many rows without the services: demo data and
search index rebuilds.

``bulk_create`` builds a model instance and prepares every value of every row
through its field, which caps it at a few thousand rows a second with wide
tables. ``insert`` takes plain dicts and sends them with ``executemany`` on
SQLite and ``COPY`` on PostgreSQL, several times faster. Only fields that need
it (dates, decimals, JSON…) are converted; the caller gives valid values, as
nothing is validated here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

# Fields whose Python values the database driver cannot take as they are.
_CONVERTED = (
    models.DateTimeField,
    models.DateField,
    models.DecimalField,
    models.JSONField,
    models.UUIDField,
    models.DurationField,
)


def _converter(field: models.Field, db: BaseDatabaseWrapper) -> Callable[[Any], Any] | None:
    # The backend's adapters directly where they suffice: they are what the
    # field calls in the end, minus the checks that cost most of the time.
    if isinstance(field, models.DateTimeField):
        return db.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return db.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        return lambda value: db.ops.adapt_json_value(value, field.encoder)
    if isinstance(field, _CONVERTED):
        return lambda value: field.get_db_prep_save(value, db)
    return None


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX statement)`` of the table's non-unique indexes."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = %s"
        )
    else:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        found = cursor.fetchall()
    return [
        (name, statement)
        for name, statement in found
        if statement and not statement.upper().startswith("CREATE UNIQUE")
    ]


@contextmanager
def without_indexes(*model_classes: type[models.Model]) -> Iterator[None]:
    """Drop the tables' non-unique indexes for a load and build them again after it:
    one sort per index at the end beats updating every index on every row. Use
    inside the load's transaction, so a failure leaves the indexes as they were."""
    dropped = [
        (name, statement)
        for model in model_classes
        for name, statement in _secondary_indexes(model._meta.db_table)
    ]
    with connection.cursor() as cursor:
        for name, _statement in dropped:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    if connection.vendor == "postgresql":
        # Foreign keys are checked at commit; PostgreSQL builds no index on a table
        # with checks pending, so run them now.
        connection.check_constraints()
    with connection.cursor() as cursor:
        for _name, statement in dropped:
            cursor.execute(statement)


def _default(field: models.Field) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        now = timezone.now()
        return now if isinstance(field, models.DateTimeField) else now.date()
    return field.get_default()


def reserve_ids(model: type[models.Model], count: int) -> range:
    """``count`` primary keys above every one in use, for rows ``insert`` writes with
    their ``id``; call ``reset_sequences`` after. Only for a load that is the sole
    writer of the table, such as demo data on a fresh database."""
    top = model._base_manager.aggregate(top=models.Max("pk"))["top"]
    start = (top or 0) + 1
    return range(start, start + count)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys no other writer will use, for rows ``insert`` writes with
    their ``id`` inside the caller's transaction. PostgreSQL draws them from the id
    sequence; SQLite moves the table's AUTOINCREMENT counter, which takes the database's
    write lock, so no other connection can insert until the transaction ends."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        quoted = connection.ops.quote_name(table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) "
            f"SELECT %s, COALESCE((SELECT MAX({pk}) FROM {quoted}), 0) "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
            [table, table],
        )
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq",
            [count, table],
        )
        last = cursor.fetchone()[0]
    return list(range(last - count + 1, last + 1))


def insert_objects(model: type[models.Model], objects: Iterable[models.Model]) -> int:
    """``insert`` unsaved model instances, their values prepared as ``save`` would
    (``auto_now`` times set)."""
    fields = model._meta.concrete_fields
    rows = [{field.attname: field.pre_save(obj, True) for field in fields} for obj in objects]
    if rows and rows[0].get(model._meta.pk.attname) is None:
        for row in rows:
            del row[model._meta.pk.attname]
    return insert(model, rows)


def reset_sequences(*model_classes: type[models.Model]) -> None:
    """Move the id sequences past rows inserted with explicit ids (PostgreSQL needs it)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def insert(model: type[models.Model], rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows``, each ``{field attname: value}``; fields a row leaves out take their
    defaults (the primary key its next value). All rows must name the same fields."""
    rows = list(rows)
    if not rows:
        return 0
    given = set(rows[0])
    fields = [
        field
        for field in model._meta.concrete_fields
        if field.attname in given or not field.primary_key
    ]
    defaults = {field.attname: _default(field) for field in fields if field.attname not in given}
    db = connections[DEFAULT_DB_ALIAS]
    converters = [_converter(field, db) for field in fields]
    names = [field.attname for field in fields]
    values = []
    for row in rows:
        record = []
        for name, convert in zip(names, converters, strict=True):
            value = row[name] if name in row else defaults[name]
            record.append(convert(value) if convert and value is not None else value)
        values.append(record)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for record in values:
                    copy.write_row(record)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)
    return len(values)


def analyze(*model_classes: type[models.Model]) -> None:
    """Refresh the query planner's statistics of the tables after a bulk load: without
    them SQLite picks indexes by guesswork, and a list page can take 200 ms, not 5. On
    PostgreSQL, outside a transaction, VACUUM too, as autovacuum would later: until the
    visibility map knows the new rows, an index-only scan reads the table after all."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    command = "VACUUM ANALYZE" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        for model in model_classes:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
