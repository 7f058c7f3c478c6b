"""Backup and restore of a whole instance: every table and every stored file in one zip.

``backup_write`` reads every table inside one snapshot (PostgreSQL: a
repeatable-read, read-only transaction; SQLite: a deferred read transaction,
which in WAL mode sees one state of the database without locking writers out),
so the archive is consistent while the app goes on working. It writes:

- ``tables/<app_label>.<model>.jsonl``: one JSON object per row, keyed by column
  attribute names (``owner_id``), in primary-key order;
- ``files/<storage name>``: each file a row names (attachments, job results),
  read from Django's default storage (a media dir or an S3 bucket);
- ``manifest.json``: the format, when and by which version and database it was
  made, the applied migrations, and per table its row count and SHA-256, per
  file its size and SHA-256.

``backup_restore`` loads an archive into an empty instance of the same schema,
on either database: it checks the archive whole before writing anything, then
inserts every table in one transaction and stores the files, so a refused or
failed restore leaves the instance as it was.

Identities an instance makes for itself are matched by name, not id: content
types by ``(app_label, model)`` and permissions by content type and codename.
Sign-in sessions, worker heartbeats and the search index are not archived:
sessions are tied to the old secret key, heartbeats to the old processes, and
the index is rebuilt from the restored records.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from rapport.accounts.models import User
from rapport.core import bulk, search
from rapport.core.jobs import Progress
from rapport.core.models import SearchEntry, SearchTerm

FORMAT = "rapport-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_ROWS = 2000
COPY_BYTES = 1024 * 1024

# Not archived: tied to the old secret key, to the old processes, or derived.
NOT_ARCHIVED = {"sessions.session", "core.workerheartbeat"}
DERIVED = (SearchEntry, SearchTerm)
# Archived to match by name: the instance made its own when it was migrated.
MATCHED_BY_NAME = (ContentType, Permission)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class TableEntry:
    model: str
    path: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class FileEntry:
    name: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    app_version: str
    database_vendor: str
    migrations: list[str]
    tables: list[TableEntry]
    files: list[FileEntry]
    # Files a row names that the storage did not have when the backup ran.
    missing_files: list[str] = dataclasses.field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: bytes) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise BackupError("The archive is not a Rapport backup (its manifest says so).")
            if raw.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"The archive has backup format {raw.get('format_version')}; this version "
                    f"of Rapport reads format {FORMAT_VERSION}."
                )
            manifest = cls(
                **{
                    **raw,
                    "tables": [TableEntry(**table) for table in raw["tables"]],
                    "files": [FileEntry(**entry) for entry in raw["files"]],
                }
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise BackupError(f"The archive's manifest is unreadable: {error}") from None
        for entry in manifest.files:
            _check_file_name(entry.name)
        return manifest


# Models and their rows


def _archived_models() -> list[type[models.Model]]:
    """Every table Django manages, in dependency order (a row's foreign keys point at
    tables listed before it, cycles aside), less what is not archived."""
    candidates = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in NOT_ARCHIVED
        and model not in DERIVED
    ]
    wanted = set(candidates)
    ordered: list[type[models.Model]] = []
    seen: set[type[models.Model]] = set()

    def visit(model: type[models.Model]) -> None:
        if model in seen:
            return
        # Marked before its targets are visited, so a cycle ends here; foreign keys are
        # checked at commit on both databases, so a cycle's order does not matter.
        seen.add(model)
        for target in _targets(model):
            if target in wanted:
                visit(target)
        ordered.append(model)

    for model in sorted(candidates, key=lambda model: model._meta.label_lower):
        visit(model)
    return ordered


def _targets(model: type[models.Model]) -> list[type[models.Model]]:
    return [
        field.related_model
        for field in _stored_fields(model)
        if field.is_relation and field.related_model is not model
    ]


def _stored_fields(model: type[models.Model]) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if not field.generated]


def _table_path(model: type[models.Model]) -> str:
    return f"tables/{model._meta.label_lower}.jsonl"


def _file_path(name: str) -> str:
    return f"files/{name}"


class _ValueEncoder(DjangoJSONEncoder):
    """Django's encoder (dates, decimals, UUIDs, durations as strings), keeping the
    microseconds it rounds off times to, and writing bytes as base64: what each
    field's ``to_python`` reads back."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        if isinstance(o, bytes | memoryview):
            return base64.b64encode(o).decode("ascii")
        return super().default(o)


# Values JSON holds as strings, turned back by the field's ``to_python``.
_PARSED = (
    models.DateField,  # and DateTimeField
    models.TimeField,
    models.DecimalField,
    models.UUIDField,
    models.DurationField,
    models.BinaryField,
)


def _decoder(field: models.Field) -> Callable[[Any], Any] | None:
    kind = field.target_field if field.is_relation else field
    return field.to_python if isinstance(kind, _PARSED) else None


def _rows_of(model: type[models.Model]) -> Iterator[dict[str, Any]]:
    names = [field.attname for field in _stored_fields(model)]
    rows = model._base_manager.order_by("pk").values_list(*names)
    for values in rows.iterator(chunk_size=CHUNK_ROWS):
        yield dict(zip(names, values, strict=True))


def _file_fields(model: type[models.Model]) -> list[str]:
    return [field.attname for field in _stored_fields(model) if isinstance(field, models.FileField)]


# Writing


def _app_version() -> str:
    try:
        return metadata.version("rapport")
    except metadata.PackageNotFoundError:
        return "unknown"


def _applied_migrations() -> list[str]:
    installed = {config.label for config in apps.get_app_configs()}
    applied = MigrationRecorder(connection).applied_migrations()
    return sorted(f"{app}.{name}" for app, name in applied if app in installed)


@contextmanager
def _snapshot() -> Iterator[None]:
    """Every read inside sees the database as it was at the first one."""
    if connection.in_atomic_block:
        raise BackupError("A backup cannot run inside another transaction.")
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    # SQLite: Django begins transactions IMMEDIATE (settings), which would hold the write
    # lock for the whole backup. A deferred BEGIN takes none; in WAL mode (settings) its
    # first read fixes the state every later read sees, while writers carry on.
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


class _Tally:
    """Counts rows and files done towards a total, and reports each step to ``progress``."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        self.advance(0)

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress:
            self.progress(self.done, self.total)


class _HashingWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.stream.write(data)


def _new_entry(archive: zipfile.ZipFile, path: str) -> IO[bytes]:
    info = zipfile.ZipInfo(path, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # Zip64 from the start: the size of an entry written as a stream is not known ahead.
    return archive.open(info, "w", force_zip64=True)


def _write_table(
    archive: zipfile.ZipFile,
    model: type[models.Model],
    files: dict[str, None],
    tally: _Tally,
) -> TableEntry:
    path = _table_path(model)
    file_fields = _file_fields(model)
    count = 0
    with _new_entry(archive, path) as stream:
        writer = _HashingWriter(stream)
        chunk: list[str] = []
        for row in _rows_of(model):
            chunk.append(json.dumps(row, cls=_ValueEncoder, ensure_ascii=False) + "\n")
            files.update((row[name], None) for name in file_fields if row[name])
            if len(chunk) == CHUNK_ROWS:
                writer.write("".join(chunk).encode())
                count += len(chunk)
                tally.advance(len(chunk))
                chunk = []
        writer.write("".join(chunk).encode())
        count += len(chunk)
        tally.advance(len(chunk))
    return TableEntry(
        model=model._meta.label_lower, path=path, rows=count, sha256=writer.digest.hexdigest()
    )


def _write_file(archive: zipfile.ZipFile, name: str) -> FileEntry | None:
    """Copy a stored file into the archive; ``None`` when the storage does not have it."""
    try:
        source = default_storage.open(name, "rb")
    except FileNotFoundError:
        return None
    path = _file_path(name)
    with source, _new_entry(archive, path) as stream:
        writer = _HashingWriter(stream)
        while block := source.read(COPY_BYTES):
            writer.write(block)
    return FileEntry(name=name, path=path, size=writer.size, sha256=writer.digest.hexdigest())


def _file_count(archived: list[type[models.Model]]) -> int:
    return sum(
        model._base_manager.exclude(**{name: ""}).values(name).distinct().count()
        for model in archived
        for name in _file_fields(model)
    )


def backup_write(path: Path | str, *, progress: Progress | None = None) -> Manifest:
    """Write a consistent archive of every table and stored file to ``path``.

    The archive appears at ``path`` only when it is complete (it is written next
    to it first). A file a row names that the storage lacks is listed in the
    manifest's ``missing_files`` rather than failing the backup."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    archived = _archived_models()
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest = _write_archive(archive, archived, _Tally(progress))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _write_archive(
    archive: zipfile.ZipFile, archived: list[type[models.Model]], tally: _Tally
) -> Manifest:
    files: dict[str, None] = {}
    with _snapshot():
        created_at = timezone.now().isoformat()
        migrations = _applied_migrations()
        tally.start(sum(model._base_manager.count() for model in archived) + _file_count(archived))
        tables = [_write_table(archive, model, files, tally) for model in archived]
    # The files are read after the snapshot: one purged meanwhile is reported missing.
    stored, missing = [], []
    for name in files:
        entry = _write_file(archive, name)
        if entry is None:
            missing.append(name)
        else:
            stored.append(entry)
        tally.advance(1)
    manifest = Manifest(
        created_at=created_at,
        app_version=_app_version(),
        database_vendor=connection.vendor,
        migrations=migrations,
        tables=tables,
        files=stored,
        missing_files=missing,
    )
    archive.writestr(MANIFEST, manifest.to_json())
    return manifest


# Reading


@contextmanager
def _open_archive(path: Path | str) -> Iterator[tuple[zipfile.ZipFile, Manifest]]:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"There is no file {path}.") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"{path} is not a backup archive (not a zip file: {error}).") from None
    with archive:
        try:
            manifest = Manifest.from_json(archive.read(MANIFEST))
        except KeyError:
            raise BackupError(f"{path} is not a Rapport backup: it has no manifest.") from None
        yield archive, manifest


def _read_entry(archive: zipfile.ZipFile, path: str) -> IO[bytes]:
    try:
        return archive.open(path)
    except KeyError:
        raise BackupError(f"The archive is incomplete: {path} is missing.") from None


def _verify_entry(archive: zipfile.ZipFile, path: str, sha256: str) -> int:
    """Read ``path`` whole, check its SHA-256 (and the zip's CRC), return its line count."""
    digest = hashlib.sha256()
    lines = 0
    try:
        with _read_entry(archive, path) as stream:
            while block := stream.read(COPY_BYTES):
                digest.update(block)
                lines += block.count(b"\n")
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise BackupError(f"The archive is damaged: {path} cannot be read ({error}).") from None
    if digest.hexdigest() != sha256:
        raise BackupError(f"The archive is damaged: {path} does not match its checksum.")
    return lines


def _verify(archive: zipfile.ZipFile, manifest: Manifest, tally: _Tally) -> None:
    for table in manifest.tables:
        lines = _verify_entry(archive, table.path, table.sha256)
        if lines != table.rows:
            raise BackupError(
                f"The archive is damaged: {table.path} holds {lines} rows, "
                f"its manifest says {table.rows}."
            )
        tally.advance(table.rows)
    for entry in manifest.files:
        _verify_entry(archive, entry.path, entry.sha256)
        tally.advance(1)


def _check_file_name(name: str) -> None:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\\" in name:
        raise BackupError(f"The archive names a file outside the storage: {name!r}.")


def backup_verify(path: Path | str, *, progress: Progress | None = None) -> Manifest:
    """Check the archive at ``path`` whole (manifest, every entry's checksum) without
    touching the database."""
    tally = _Tally(progress)
    with _open_archive(path) as (archive, manifest):
        tally.start(manifest.rows + len(manifest.files))
        _verify(archive, manifest, tally)
    return manifest


# Restoring


def _check_schema(manifest: Manifest) -> None:
    here = set(_applied_migrations())
    there = set(manifest.migrations)
    if not here:
        raise BackupError("The database has no tables yet: run `rapport migrate` first.")
    if here != there:
        only_there = sorted(there - here)
        only_here = sorted(here - there)
        details = []
        if only_there:
            details.append(f"the archive has {', '.join(only_there[:5])} not applied here")
        if only_here:
            details.append(f"this database has {', '.join(only_here[:5])} the archive lacks")
        raise BackupError(
            "The archive was made with another database schema ("
            + "; ".join(details)
            + f"). Restore it with the Rapport version that made it "
            f"({manifest.app_version}), then upgrade."
        )
    known = {model._meta.label_lower for model in _archived_models()}
    listed = {table.model for table in manifest.tables}
    if known != listed:
        difference = sorted(known ^ listed)
        raise BackupError(
            f"The archive's tables do not match this instance's: {', '.join(difference[:5])}."
        )


def _check_empty(manifest: Manifest) -> None:
    users = User._base_manager.count()
    if users:
        raise BackupError(
            f"This instance is not empty ({users} users): restore only into a new database "
            "that `rapport migrate` has set up."
        )
    present = [entry.name for entry in manifest.files if default_storage.exists(entry.name)]
    if present:
        raise BackupError(
            f"The file storage already holds {len(present)} of the archive's files "
            f"({present[0]}…): restore into an empty media directory or bucket."
        )


def _archived_rows(archive: zipfile.ZipFile, table: TableEntry) -> Iterator[dict[str, Any]]:
    with _read_entry(archive, table.path) as stream:
        for line in stream:
            yield json.loads(line)


def _content_type_ids(archive: zipfile.ZipFile, tables: Mapping[str, TableEntry]) -> dict:
    """Archive content type id → this instance's, made here if missing."""
    found = {}
    for row in _archived_rows(archive, tables["contenttypes.contenttype"]):
        content_type, _created = ContentType.objects.get_or_create(
            app_label=row["app_label"], model=row["model"]
        )
        found[row["id"]] = content_type.pk
    return found


def _permission_ids(
    archive: zipfile.ZipFile, tables: Mapping[str, TableEntry], content_types: dict
) -> dict:
    """Archive permission id → this instance's, made here if missing."""
    found = {}
    for row in _archived_rows(archive, tables["auth.permission"]):
        permission, _created = Permission.objects.get_or_create(
            content_type_id=content_types[row["content_type_id"]],
            codename=row["codename"],
            defaults={"name": row["name"]},
        )
        found[row["id"]] = permission.pk
    return found


def _row_converter(
    model: type[models.Model], id_maps: Mapping[type[models.Model], dict]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Turn an archived row into ``bulk.insert`` values: parsed strings, mapped ids."""
    fields = _stored_fields(model)
    names = {field.attname for field in fields}
    steps: list[tuple[str, Callable[[Any], Any]]] = []
    for field in fields:
        id_map = id_maps.get(field.related_model) if field.is_relation else None
        if id_map is not None:
            steps.append((field.attname, _mapper(model, field, id_map)))
        elif decode := _decoder(field):
            steps.append((field.attname, decode))

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        if row.keys() != names:
            raise BackupError(
                f"The archive's {model._meta.label_lower} rows have other columns than this "
                f"instance's table: {', '.join(sorted(row.keys() ^ names))}."
            )
        for name, step in steps:
            if row[name] is not None:
                row[name] = step(row[name])
        return row

    return convert


def _mapper(model: type[models.Model], field: models.Field, id_map: dict) -> Callable[[Any], Any]:
    def mapped(value: Any) -> Any:
        try:
            return id_map[value]
        except KeyError:
            raise BackupError(
                f"The archive's {model._meta.label_lower}.{field.name} names "
                f"{field.related_model._meta.label_lower} {value}, which it does not hold."
            ) from None

    return mapped


def _load_table(
    archive: zipfile.ZipFile,
    table: TableEntry,
    model: type[models.Model],
    id_maps: Mapping[type[models.Model], dict],
    tally: _Tally,
) -> None:
    convert = _row_converter(model, id_maps)
    chunk: list[dict[str, Any]] = []
    for row in _archived_rows(archive, table):
        chunk.append(convert(row))
        if len(chunk) == CHUNK_ROWS:
            bulk.insert(model, chunk)
            tally.advance(len(chunk))
            chunk = []
    bulk.insert(model, chunk)
    tally.advance(len(chunk))


def _clear(tables: Iterable[type[models.Model]]) -> None:
    """Empty the tables of what migrations put in them (roles, currencies, the default
    pipeline…): the archive holds the old instance's own rows of them."""
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _restore_files(
    archive: zipfile.ZipFile, manifest: Manifest, written: list[str], tally: _Tally
) -> None:
    for entry in manifest.files:
        with _read_entry(archive, entry.path) as stream:
            stored = default_storage.save(entry.name, File(stream, name=entry.name))
        written.append(stored)
        if stored != entry.name:
            raise BackupError(f"The file storage stored {entry.name} as {stored}.")
        tally.advance(1)


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def backup_restore(path: Path | str, *, progress: Progress | None = None) -> Manifest:
    """Load the archive at ``path`` into this empty instance (migrated to the archive's
    schema), then rebuild the search index.

    Refuses, with a ``BackupError`` and before writing anything, an instance that
    holds data, an archive of another schema, and an archive that is damaged or
    incomplete. Everything is written in one transaction; the files it stored are
    removed again if that fails."""
    tally = _Tally(progress)
    with _open_archive(path) as (archive, manifest):
        _check_schema(manifest)
        _check_empty(manifest)
        # Every row and file is read twice: checked first, then written.
        tally.start(2 * (manifest.rows + len(manifest.files)))
        _verify(archive, manifest, tally)
        written: list[str] = []
        try:
            with transaction.atomic():
                _load(archive, manifest, tally)
                _restore_files(archive, manifest, written, tally)
        except DatabaseError as error:
            _delete_files(written)
            raise BackupError(f"The database refused the archive's rows: {error}") from None
        except BaseException:
            _delete_files(written)
            raise
    bulk.analyze(*_archived_models())
    return manifest


def _load(archive: zipfile.ZipFile, manifest: Manifest, tally: _Tally) -> None:
    tables = {table.model: table for table in manifest.tables}
    archived = _archived_models()
    loaded = [model for model in archived if model not in MATCHED_BY_NAME]
    _clear([*reversed(loaded), *DERIVED])
    content_types = _content_type_ids(archive, tables)
    id_maps = {
        ContentType: content_types,
        Permission: _permission_ids(archive, tables, content_types),
    }
    tally.advance(sum(tables[model._meta.label_lower].rows for model in MATCHED_BY_NAME))
    with bulk.without_indexes(*loaded):
        for model in loaded:
            _load_table(archive, tables[model._meta.label_lower], model, id_maps, tally)
    bulk.reset_sequences(*loaded)
    with bulk.without_indexes(*DERIVED):
        for registration in search.registrations():
            search.reindex(registration.model)
