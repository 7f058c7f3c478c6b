"""Importing a CSV or XLSX file into any importable record type: the verbs the wizard,
the API and ``rapport import`` call.

``import_upload`` keeps the file and reads its shape; ``import_configure``
sets the column mapping, the key existing records are matched by and the
options; ``import_preview`` reads the first rows cell by cell;
``import_start`` runs it, dry or for real, as a background job.

A real run writes in batches of ``IMPORT_BATCH_ROWS`` rows. One batch is one
transaction holding its records, its failed rows and the run's counts and
``next_row``, so a run killed anywhere has committed whole batches only, and
``import_resume`` goes on from ``next_row``: nothing lost, nothing twice.
Each row is written by the record type's own service (``contact_create``…)
inside a savepoint, so a refused row is reported and the rest of the batch
stands. Every audit entry the run writes carries its ``audit_tag``, which is
how ``import_rollback`` finds the records it created (moved to the trash) and
the values it overwrote (put back).

A dry run reads and writes every row the same way, each batch rolled back,
and reports what a real run would do; a key repeated in the file counts as
an update after its first row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from rapport.accounts.models import Scope, Team, User
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact, ContactEmail, Tag
from rapport.core.actors import Actor
from rapport.core.customfields import definitions_held
from rapport.core.jobs import (
    JobError,
    Progress,
    job_cancel,
    job_handler,
    job_start,
    spreadsheet_safe,
)
from rapport.core.models import Job, Source
from rapport.core.permissions import field_access, scope_of
from rapport.exchange import reading
from rapport.exchange.import_types import (
    ADDRESS,
    COMPANY,
    CONTACT,
    CUSTOM,
    PIPELINE,
    STAGE,
    TAGS,
    TEAM,
    USER,
    ImportType,
    Prepared,
    Target,
    import_type,
    unchanged,
)
from rapport.exchange.models import ImportFailure, ImportMapping, ImportRun, ImportStatus
from rapport.sales.models import Pipeline, Stage
from rapport.sales.pipelines import default_pipeline

PREVIEW_ROWS = 10
HEADER_WORD = re.compile(r"[^a-z0-9]+")
OPTION_NAMES = ("key", "date_formats", "decimal_comma", "create_companies", "phone_region")
DATE_FORMATS = {
    "%Y-%m-%d": "2026-12-31",
    "%d/%m/%Y": "31/12/2026",
    "%m/%d/%Y": "12/31/2026",
    "%d.%m.%Y": "31.12.2026",
    "%d-%m-%Y": "31-12-2026",
    "%Y/%m/%d": "2026/12/31",
}
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
FINISHED = (ImportStatus.SUCCEEDED, ImportStatus.CANCELLED, ImportStatus.ROLLED_BACK)


# Permissions


def may_import(user: User | None, model: type) -> bool:
    return (
        scope_of(user, model, "import") != Scope.NONE
        and scope_of(user, model, "create") != Scope.NONE
    )


def type_for(key: str, actor: Actor) -> ImportType:
    found = import_type(key)
    if found is None:
        raise ValidationError({"object_type": [_("These records cannot be imported.")]})
    if not may_import(actor.user, found.model):
        raise PermissionDenied
    return found


def own_run(run: ImportRun, actor: Actor) -> None:
    # Someone else's import is not even there.
    if actor.user is None or run.owner_id != actor.user.pk:
        raise Http404


def visible_runs(user: User) -> Any:
    return ImportRun.objects.filter(owner=user)


# Upload and mapping


def _folded(text: str) -> str:
    return HEADER_WORD.sub(" ", text.lower()).strip()


def suggest_mapping(kind: ImportType, header: list[str], user: User) -> dict[str, str]:
    """Column index (as text) → target, from a saved mapping naming these headers or else
    from header names that match a field's name, label or usual aliases."""
    refused = field_access(user, kind.model)
    saved = _saved_mapping_for(kind, header, user)
    if saved is not None:
        return {column: target for column, target in saved.items() if target not in refused}
    names: dict[str, str] = {}
    for target in kind.all_targets():
        if target.name in refused:
            continue
        for alias in (target.label, *target.aliases):
            names.setdefault(_folded(alias), target.name)
    mapping: dict[str, str] = {}
    for index, title in enumerate(header):
        target = names.get(_folded(title))
        if target and target not in mapping.values():
            mapping[str(index)] = target
    return mapping


def _saved_mapping_for(kind: ImportType, header: list[str], user: User) -> dict[str, str] | None:
    templates = ImportMapping.objects.filter(
        Q(owner=user) | Q(shared=True), object_type=kind.key
    ).order_by("-created_at")
    positions = {title: index for index, title in enumerate(header)}
    for template in templates:
        if template.columns and set(template.columns) <= set(positions):
            return {str(positions[title]): target for title, target in template.columns.items()}
    return None


def import_upload(*, actor: Actor, object_type: str, upload: File, file_name: str) -> ImportRun:
    """Keep ``upload`` for an import of ``object_type`` and read its shape; the run waits
    for its mapping. ``ValidationError`` (on ``file``) for a file that cannot be read."""
    kind = type_for(object_type, actor)
    try:
        reading.check_size(upload.size)
    except reading.UnreadableFile as error:
        raise ValidationError({"file": [str(error)]}) from None
    run = ImportRun(
        owner=actor.user,
        object_type=kind.key,
        file_name=Path(file_name).name[:255],
        file_size=upload.size,
    )
    run.file.save(run.file_name, upload, save=False)
    try:
        with reading.local_copy(run.file) as path:
            info = reading.inspect(path)
    except reading.UnreadableFile as error:
        run.file.delete(save=False)
        raise ValidationError({"file": [str(error)]}) from None
    run.file_format, run.encoding, run.delimiter = info.file_format, info.encoding, info.delimiter
    run.header = info.header
    run.mapping = suggest_mapping(kind, info.header, actor.user)
    run.options = {"key": _default_key(kind, run.mapping), "date_formats": ["%Y-%m-%d"]}
    run.save()
    return run


def _default_key(kind: ImportType, mapping: dict[str, str]) -> str:
    return next((key for key in kind.keys if key in mapping.values()), "")


def table_info(run: ImportRun) -> reading.TableInfo:
    return reading.TableInfo(run.file_format, run.encoding, run.delimiter, run.header)


def _clean_options(kind: ImportType, options: dict[str, Any], mapped: set[str]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    key = options.get("key") or ""
    if key and key not in dict(kind.key_choices()):
        errors["key"] = [_("Choose a field records can be matched by.")]
    elif key and key not in mapped:
        errors["key"] = [_("Map a column to the field records are matched by.")]
    formats = options.get("date_formats") or ["%Y-%m-%d"]
    if not isinstance(formats, list) or not all(item in DATE_FORMATS for item in formats):
        errors["date_formats"] = [_("Choose date formats from the list.")]
    region = str(options.get("phone_region") or "").upper()
    if region and not (len(region) == 2 and region.isalpha()):
        errors["phone_region"] = [_("Enter a two-letter country code such as DE.")]
    if errors:
        raise ValidationError(errors)
    return {
        "key": key,
        "date_formats": formats,
        "decimal_comma": bool(options.get("decimal_comma")),
        "create_companies": bool(options.get("create_companies")),
        "phone_region": region,
    }


def _clean_mapping(
    kind: ImportType, run: ImportRun, mapping: dict[str, str], user: User | None
) -> dict[str, str]:
    targets = {target.name for target in kind.all_targets()}
    # Hidden and read-only fields: the role may not write them, so not import them either.
    refused = field_access(user, kind.model)
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    for column, target in mapping.items():
        if not target:
            continue
        if not str(column).isdigit() or int(column) >= len(run.header):
            errors.append(_("Column %(column)s is not in the file.") % {"column": column})
        elif target not in targets:
            errors.append(_("There is no field %(field)s to import into.") % {"field": target})
        elif target in refused:
            label = kind.target(target).label
            errors.append(_("Your role may not change %(field)s.") % {"field": label})
        elif target in cleaned.values():
            label = kind.target(target).label
            errors.append(_("Two columns are mapped to %(field)s.") % {"field": label})
        else:
            cleaned[str(column)] = target
    for group in kind.required:
        if not set(group) & set(cleaned.values()):
            labels = _(" or ").join(kind.target(name).label for name in group)
            errors.append(_("Map a column to %(fields)s.") % {"fields": labels})
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def import_configure(
    run: ImportRun,
    *,
    actor: Actor,
    mapping: dict[str, str],
    options: dict[str, Any],
    encoding: str = "",
    delimiter: str = "",
) -> ImportRun:
    """Set how columns map to fields, the key and the options; ``encoding`` and
    ``delimiter`` re-read a CSV file the way the user says it is written."""
    own_run(run, actor)
    kind = type_for(run.object_type, actor)
    if run.status != ImportStatus.MAPPING:
        raise ValidationError(_("This import has started; its mapping can no longer change."))
    if run.file_format == reading.CSV and (encoding or delimiter):
        _reread(run, encoding or run.encoding, delimiter or run.delimiter)
    cleaned = _clean_mapping(kind, run, mapping, actor.user)
    run.options = _clean_options(kind, options, set(cleaned.values()))
    if run.file_format == reading.XLSX:
        # A spreadsheet's numbers come as numbers, written with a decimal point: the
        # decimal comma option would read 1.5 as 15.
        run.options["decimal_comma"] = False
    run.mapping = cleaned
    run.save()
    return run


def _reread(run: ImportRun, encoding: str, delimiter: str) -> None:
    if len(delimiter) != 1:
        raise ValidationError({"delimiter": [_("Enter one character.")]})
    try:
        with reading.local_copy(run.file) as path:
            info = reading.inspect(path, encoding=encoding, delimiter=delimiter)
    except reading.UnreadableFile as error:
        raise ValidationError({"encoding": [str(error)]}) from None
    run.encoding, run.delimiter = info.encoding, info.delimiter
    if info.header != run.header:
        run.header = info.header
        run.mapping = {}


def mapping_save(run: ImportRun, *, actor: Actor, name: str, shared: bool = False) -> ImportMapping:
    """Keep the run's mapping under ``name`` (headers → fields), offered for later files."""
    own_run(run, actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Name the mapping.")]})
    columns = {run.header[int(column)]: target for column, target in run.mapping.items()}
    template, _created = ImportMapping.objects.update_or_create(
        owner=actor.user,
        object_type=run.object_type,
        name=name[:100],
        defaults={"columns": columns, "options": run.options, "shared": shared},
    )
    return template


def visible_mappings(user: User) -> Any:
    """Saved mappings the user may use: their own and those shared."""
    return ImportMapping.objects.filter(Q(owner=user) | Q(shared=True))


def mapping_delete(template: ImportMapping, *, actor: Actor) -> None:
    """Delete a saved mapping: its owner may, and an admin may delete a shared one."""
    user = actor.user
    if user is None or not visible_mappings(user).filter(pk=template.pk).exists():
        raise Http404
    if template.owner_id != user.pk and not user.is_admin:
        raise PermissionDenied
    template.delete()


# Reading rows


@dataclass
class References:
    """Rows that cells name, found once per import run and kept."""

    actor: Actor
    create_companies: bool
    found: dict[tuple[str, str], Any] = field(default_factory=dict)

    def resolve(self, kind: str, text: str, row: Prepared) -> Any:
        cache_key = (
            kind,
            text.lower() if kind != STAGE else f"{row.values.get('pipeline')}|{text}",
        )
        if cache_key not in self.found:
            self.found[cache_key] = self._find(kind, text, row)
        value = self.found[cache_key]
        if value is None:
            raise ValidationError(self._missing(kind) % {"value": text})
        return value

    def _find(self, kind: str, text: str, row: Prepared) -> Any:
        if kind == USER:
            return User.objects.filter(email__iexact=text, is_active=True).first()
        if kind == TEAM:
            return Team.objects.filter(name__iexact=text).first()
        if kind == TAGS:
            return Tag.objects.filter(name__iexact=text).first()
        if kind == CONTACT:
            found = ContactEmail.objects.filter(email=text, contact__deleted_at__isnull=True)
            return Contact.objects.filter(pk__in=found.values("contact_id")).order_by("pk").first()
        if kind == PIPELINE:
            return Pipeline.objects.filter(name__iexact=text).first()
        if kind == STAGE:
            pipeline = row.values.get("pipeline") or default_pipeline()
            return Stage.objects.filter(pipeline=pipeline, name__iexact=text).first()
        return self._company(text)

    def _company(self, text: str) -> Company | None:
        try:
            domain = contacts.normalize_domain(text) if "." in text and " " not in text else ""
        except ValidationError:
            domain = ""
        found = Company.objects.filter(domain=domain) if domain else Company.objects.none()
        company = found.first() or Company.objects.filter(name__iexact=text).first()
        if company is None and self.create_companies:
            values = {"domain": domain, "name": domain} if domain else {"name": text}
            company = contacts.company_create(actor=self.actor, values=values)
        return company

    @staticmethod
    def _missing(kind: str) -> str:
        return {
            USER: _("No active user has the email address %(value)s."),
            TEAM: _("There is no team named %(value)s."),
            TAGS: _("There is no tag named %(value)s; an administrator adds tags."),
            PIPELINE: _("There is no pipeline named %(value)s."),
            STAGE: _("The pipeline has no stage named %(value)s."),
            COMPANY: _("There is no company named %(value)s."),
            CONTACT: _("No contact has the email address %(value)s."),
        }[kind]


CellErrors = list[tuple[int, str]]


def _put(row: Prepared, target: Target, value: Any) -> None:
    if target.name.startswith(CUSTOM):
        row.custom[target.name.removeprefix(CUSTOM)] = value
    elif target.name.startswith(ADDRESS):
        row.address[target.name.removeprefix(ADDRESS)] = value
    elif target.name == TAGS:
        row.tags.extend(value)
    else:
        row.values[target.name] = value


def _read_cell(
    target: Target, raw: str, options: dict[str, Any], references: References, row: Prepared
) -> Any:
    value = target.read(raw, options)
    if target.reference == TAGS:
        return [references.resolve(TAGS, name, row) for name in value]
    if target.reference:
        return references.resolve(target.reference, raw, row)
    return value


def read_row(
    kind: ImportType,
    run: ImportRun,
    cells: list[str],
    references: References,
) -> tuple[Prepared, CellErrors]:
    """The row's mapped cells read into what the services take, and each bad cell's
    column with its message. A blank cell leaves the field as it is."""
    row = Prepared()
    errors: CellErrors = []
    # References among the row's own cells (a stage within its pipeline) come last.
    columns = sorted(run.mapping.items(), key=lambda item: item[1] == "stage")
    targets = kind.targets_by_name()
    for column, name in columns:
        index = int(column)
        raw = cells[index].strip() if index < len(cells) else ""
        target = targets.get(name)
        if not raw or target is None:
            continue
        try:
            _put(row, target, _read_cell(target, raw, run.options, references, row))
        except ValidationError as error:
            errors.append((index, " ".join(error.messages)))
    return row, errors


@dataclass
class PreviewRow:
    line: int
    cells: list[tuple[str, str]]  # (text, message) per column


def import_preview(run: ImportRun, *, actor: Actor, rows: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first ``rows`` data rows, each cell with the message it would fail with."""
    own_run(run, actor)
    kind = type_for(run.object_type, actor)
    references = References(actor=actor, create_companies=False)
    try:
        with reading.local_copy(run.file) as path:
            data = reading.data_rows(path, table_info(run))
            return _preview_rows(kind, run, data, references, rows)
    except reading.UnreadableFile as error:
        raise ValidationError({"file": [str(error)]}) from None


def _preview_rows(
    kind: ImportType, run: ImportRun, data: Iterator, references: References, rows: int
) -> list[PreviewRow]:
    preview = []
    for index, cells in data:
        _row, errors = read_row(kind, run, cells, references)
        messages = dict(errors)
        if run.options.get("create_companies"):
            # A company the import would create is not an error in the preview.
            messages = {i: m for i, m in messages.items() if run.mapping.get(str(i)) != "company"}
        width = max(len(run.header), len(cells))
        padded = [*cells, *[""] * (width - len(cells))]
        preview.append(
            PreviewRow(index + 2, [(text, messages.get(i, "")) for i, text in enumerate(padded)])
        )
        if len(preview) >= rows:
            break
    return preview


# Running


def import_start(run: ImportRun, *, actor: Actor, dry_run: bool = False) -> Job:
    """Start the import (or its dry run) as a background job."""
    own_run(run, actor)
    type_for(run.object_type, actor)
    if not run.mapping:
        raise ValidationError(_("Map at least one column before importing."))
    if run.status != ImportStatus.MAPPING:
        raise ValidationError(_("This import has already started."))
    title = (_("Dry run of the import of %(file)s") if dry_run else _("Import of %(file)s")) % {
        "file": run.file_name
    }
    with transaction.atomic():
        job = job_start(
            actor=actor,
            kind="exchange.import",
            title=title,
            params={"run": run.pk, "dry_run": dry_run},
        )
        if dry_run:
            run.dry_run_job = job
            ImportFailure.objects.filter(run=run, dry_run=True).delete()
            run.save(update_fields=["dry_run_job"])
        else:
            run.job = job
            run.status = ImportStatus.QUEUED
            run.save(update_fields=["job", "status"])
    return job


def notice_interruption(run: ImportRun) -> ImportRun:
    """Mark interrupted a run whose job ended without finishing it: its worker was
    killed (and its job failed by ``recover_abandoned_jobs`` after its last try) or it
    failed."""
    job = run.job
    active = run.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    if active and job is not None and job.is_finished:
        ImportRun.objects.filter(pk=run.pk, status=run.status).update(
            status=ImportStatus.INTERRUPTED
        )
        run.status = ImportStatus.INTERRUPTED
        run.message = job.message
    return run


def import_resume(run: ImportRun, *, actor: Actor) -> Job:
    """Go on with an interrupted run from the last batch it committed."""
    own_run(run, actor)
    type_for(run.object_type, actor)
    notice_interruption(run)
    if run.status != ImportStatus.INTERRUPTED:
        raise ValidationError(_("Only an interrupted import can be resumed."))
    with transaction.atomic():
        job = job_start(
            actor=actor,
            kind="exchange.import",
            title=_("Import of %(file)s (resumed)") % {"file": run.file_name},
            params={"run": run.pk, "dry_run": False},
        )
        run.job = job
        run.status = ImportStatus.QUEUED
        run.save(update_fields=["job", "status"])
    return job


def import_cancel(run: ImportRun, *, actor: Actor) -> ImportRun:
    """Stop the run after the batch it is writing; what it committed stays (roll it back
    to remove it)."""
    own_run(run, actor)
    if run.status in (*FINISHED, ImportStatus.MAPPING, ImportStatus.ROLLING_BACK):
        raise ValidationError(_("Only a queued, running or interrupted import can be cancelled."))
    if run.job and not run.job.is_finished:
        job_cancel(run.job, actor=actor)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.CANCELLED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class RowRefused(Exception):
    """A row the import cannot write; the message says why."""


def _reason(kind: ImportType, run: ImportRun, error: ValidationError) -> str:
    """A service's refusal, each message under the column of the field it is about."""
    columns = {target: run.header[int(column)] for column, target in run.mapping.items()}
    parts = []
    for name, messages in _messages(error).items():
        base = name.split(".")[0] if not name.startswith(CUSTOM) else name
        where = columns.get(base) or columns.get(name)
        where = where or _field_label(kind, base)
        if name == NON_FIELD_ERRORS or not where:
            parts.append(" ".join(messages))
        else:
            parts.append(f"{where}: {' '.join(messages)}")
    return "; ".join(parts)


def _field_label(kind: ImportType, name: str) -> str:
    try:
        return str(capfirst(kind.model._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return ""


def _messages(error: ValidationError) -> dict[str, list[str]]:
    return (
        error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    )


@dataclass
class Writer:
    """Writes the rows of one run, batch by batch."""

    run: ImportRun
    kind: ImportType
    actor: Actor
    references: References
    dry_run: bool
    # Keys the dry run has seen, whose records the rolled-back batches did not keep.
    seen: set[Any] = field(default_factory=set)

    def write_batch(self, batch: list[tuple[int, list[str]]]) -> tuple[Tally, list[ImportFailure]]:
        with definitions_held():
            return self._write_batch(batch)

    def _write_batch(self, batch: list[tuple[int, list[str]]]) -> tuple[Tally, list[ImportFailure]]:
        tally, failures = Tally(), []
        key = self.run.options.get("key") or ""
        rows = []
        for index, cells in batch:
            try:
                rows.append((index, cells, self._read(cells)))
            except RowRefused as refusal:
                failures.append(self._failure(index, cells, str(refusal)))
        given = [_key_of(row, key) for _index, _cells, row in rows]
        existing = self.kind.lookup(key, [k for k in given if k is not None]) if key else {}
        keys = [self.kind.folded_key(key, value) for value in given]
        new, rest = self._split(rows, keys, existing)
        rest = self._create_in_bulk(new, existing, tally, failures) + rest
        for index, cells, row, row_key in rest:
            try:
                tally.add(self._write(row, row_key, existing))
            except RowRefused as refusal:
                failures.append(self._failure(index, cells, str(refusal)))
        tally.failed = len(failures)
        return tally, failures

    def _split(self, rows: list, keys: list, existing: dict) -> tuple[list, list]:
        """The rows the type can create in one go (new, and the first of their key), and
        the rest in file order, written one by one after them."""
        new, rest, claimed = [], [], set()
        for (index, cells, row), row_key in zip(rows, keys, strict=True):
            fresh = row_key is None or (row_key not in existing and row_key not in self.seen)
            if self.kind.create_many and fresh and row_key not in claimed:
                new.append((index, cells, row, row_key))
                if row_key is not None:
                    claimed.add(row_key)
            else:
                rest.append((index, cells, row, row_key))
        return new, rest

    def _create_in_bulk(self, new: list, existing: dict, tally: Tally, failures: list) -> list:
        """Create the new rows with the type's bulk service; the rows to write one by one
        instead if the database refused the batch as a whole."""
        if not new:
            return []
        try:
            with transaction.atomic():
                outcomes = self.kind.create_many(self.actor, [row for _i, _c, row, _k in new])
        except DatabaseError:
            return new
        for (index, cells, _row, row_key), outcome in zip(new, outcomes, strict=True):
            if isinstance(outcome, ValidationError):
                failures.append(self._failure(index, cells, _reason(self.kind, self.run, outcome)))
                continue
            tally.add(CREATED)
            if row_key is not None:
                existing[row_key] = outcome
                self._remember(row_key)
        return []

    def _read(self, cells: list[str]) -> Prepared:
        if len(cells) > len(self.run.header) and any(
            c.strip() for c in cells[len(self.run.header) :]
        ):
            raise RowRefused(
                _("The row has %(cells)d cells; the header names %(columns)d columns.")
                % {"cells": len(cells), "columns": len(self.run.header)}
            )
        row, errors = read_row(self.kind, self.run, cells, self.references)
        if errors:
            raise RowRefused("; ".join(f"{self.run.header[i]}: {message}" for i, message in errors))
        return row

    def _write(self, row: Prepared, row_key: Any, existing: dict[Any, Any]) -> str:
        record = existing.get(row_key) if row_key is not None else None
        if self.dry_run and record is None and row_key is not None and row_key in self.seen:
            return UPDATED
        try:
            with transaction.atomic():
                if record is None:
                    written = self.kind.create(self.actor, row)
                    outcome = CREATED
                elif unchanged(record, row):
                    written, outcome = record, UNCHANGED
                else:
                    version = record.version
                    written = self.kind.update(record, self.actor, row)
                    outcome = UPDATED if written.version != version else UNCHANGED
        except ValidationError as error:
            raise RowRefused(_reason(self.kind, self.run, error)) from None
        except (PermissionDenied, Http404):
            raise RowRefused(_("You may not change the existing record with this key.")) from None
        if row_key is not None:
            existing[row_key] = written
            self._remember(row_key)
        return outcome

    def _remember(self, row_key: Any) -> None:
        # Only a dry run forgets what it wrote (each batch is rolled back); a real run finds
        # its own records again by their key, and keeps no set growing with the file.
        if self.dry_run:
            self.seen.add(row_key)

    def _failure(self, index: int, cells: list[str], reason: str) -> ImportFailure:
        return ImportFailure(
            run=self.run, line=index + 2, reason=reason, cells=cells, dry_run=self.dry_run
        )


def _key_of(row: Prepared, key: str) -> Any:
    if not key:
        return None
    if key.startswith(CUSTOM):
        return row.custom.get(key.removeprefix(CUSTOM))
    return row.values.get(key)


class _DryRunBatch(Exception):
    """Raised to roll back a dry run's batch once it is written."""


def _write_committed(writer: Writer, batch: list, next_row: int) -> Tally:
    with transaction.atomic():
        tally, failures = writer.write_batch(batch)
        ImportFailure.objects.bulk_create(failures)
        ImportRun.objects.filter(pk=writer.run.pk).update(
            next_row=next_row,
            created=F("created") + tally.created,
            updated=F("updated") + tally.updated,
            unchanged=F("unchanged") + tally.unchanged,
            failed=F("failed") + tally.failed,
        )
    return tally


def _write_rolled_back(writer: Writer, batch: list) -> Tally:
    try:
        with transaction.atomic():
            tally, failures = writer.write_batch(batch)
            raise _DryRunBatch
    except _DryRunBatch:
        pass
    ImportFailure.objects.bulk_create(failures)
    return tally


def _batches(path: Path, run: ImportRun, start: int) -> Iterator[tuple[list, int]]:
    """Batches of data rows from the ``start``-th on, each with the index after its last
    row (blank rows count), where the next batch starts."""
    rows = reading.data_rows(path, table_info(run), start=start)
    while batch := list(islice(rows, settings.IMPORT_BATCH_ROWS)):
        yield batch, batch[-1][0] + 1


def _total(path: Path, run: ImportRun) -> int:
    if run.total_rows is None:
        run.total_rows = reading.count_rows(path, table_info(run))
        ImportRun.objects.filter(pk=run.pk).update(total_rows=run.total_rows)
    return run.total_rows


def _summary(tally: Tally) -> str:
    return _(
        "%(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(failed)d failed."
    ) % {
        "created": tally.created,
        "updated": tally.updated,
        "unchanged": tally.unchanged,
        "failed": tally.failed,
    }


def _dry_run(path: Path, run: ImportRun, writer: Writer, progress: Progress) -> dict[str, Any]:
    # A dry run taken over from a dead worker lists its failed rows once.
    ImportFailure.objects.filter(run=run, dry_run=True).delete()
    total = _total(path, run)
    progress(0, total)
    summary = Tally()
    for batch, next_row in _batches(path, run, 0):
        tally = _write_rolled_back(writer, batch)
        for name in ("created", "updated", "unchanged", "failed"):
            setattr(summary, name, getattr(summary, name) + getattr(tally, name))
        progress(next_row, total)
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "failed": summary.failed,
        "message": _("Dry run: %(summary)s Nothing was written.") % {"summary": _summary(summary)},
    }


def _real_run(path: Path, run: ImportRun, writer: Writer, progress: Progress) -> dict[str, Any]:
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING)
    total = _total(path, run)
    progress(run.next_row, total)
    try:
        for batch, next_row in _batches(path, run, run.next_row):
            _write_committed(writer, batch, next_row)
            progress(next_row, total)
    except BaseException:
        # Killed, cancelled or failed: the batches committed stay, and a resumed run
        # starts after them. A cancelled run was marked so by ``import_cancel``.
        ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.INTERRUPTED
        )
        raise
    run.refresh_from_db()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.SUCCEEDED, next_row=total, finished_at=timezone.now()
    )
    summary = Tally(run.created, run.updated, run.unchanged, run.failed)
    return {"message": _summary(summary)}


def _authorize_import(user: User | None) -> None:
    if user is None:
        raise PermissionDenied


def execute_run(run: ImportRun, *, user: User, dry_run: bool, progress: Progress) -> dict[str, Any]:
    """Read and write every row of ``run`` (from ``next_row`` on) as ``user``; the job
    handler and ``rapport import`` call it. ``progress(done, total)`` may raise to stop."""
    actor = Actor(user=user, source=Source.IMPORT, request_id=run.audit_tag)
    kind = type_for(run.object_type, actor)
    writer = Writer(
        run=run,
        kind=kind,
        actor=actor,
        references=References(
            actor=actor, create_companies=bool(run.options.get("create_companies")) and not dry_run
        ),
        dry_run=dry_run,
    )
    try:
        with reading.local_copy(run.file) as path:
            if dry_run:
                return _dry_run(path, run, writer, progress)
            return _real_run(path, run, writer, progress)
    except reading.UnreadableFile as error:
        # Found while counting the rows, before any write, unless the file changed.
        raise JobError(str(error)) from None


def import_run_here(
    run: ImportRun, *, actor: Actor, dry_run: bool, progress: Progress
) -> dict[str, Any]:
    """Run the import in this process rather than the worker (``rapport import``); a run
    interrupted here resumes with ``import_resume`` like any other."""
    own_run(run, actor)
    type_for(run.object_type, actor)
    if not run.mapping:
        raise ValidationError(_("Map at least one column before importing."))
    resuming = run.status == ImportStatus.INTERRUPTED
    if run.status != ImportStatus.MAPPING and not resuming:
        raise ValidationError(_("This import has already started."))
    return execute_run(run, user=actor.user, dry_run=dry_run, progress=progress)


# Resumable: a run taken over after its worker died goes on after its last
# committed batch; a dry run starts again from the top.
@job_handler("exchange.import", authorize=_authorize_import, resumable=True)
def run_import(job: Job, progress: Progress) -> dict[str, Any]:
    try:
        run = ImportRun.objects.get(pk=job.params["run"], owner=job.owner)
    except ImportRun.DoesNotExist:
        raise JobError(_("This import no longer exists.")) from None
    return execute_run(run, user=job.owner, dry_run=job.params["dry_run"], progress=progress)


# Failed rows


def failures_csv(run: ImportRun, *, actor: Actor, dry_run: bool = False) -> Iterator[str]:
    """The failed rows as CSV, streamed: the file's own columns plus the row's line and
    the reason, ready to fix and upload again."""
    own_run(run, actor)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_safe(str(cell)) for cell in cells])
        return buffer.getvalue()

    yield line([*run.header, _("Line"), _("Reason")])
    failures = run.failures.filter(dry_run=dry_run).order_by("line")
    width = len(run.header)
    for failure in failures.iterator(chunk_size=2000):
        cells = [*failure.cells[:width], *[""] * (width - len(failure.cells[:width]))]
        yield line([*cells, failure.line, failure.reason])


def failed_count(run: ImportRun, *, dry_run: bool) -> int:
    return run.failures.filter(dry_run=dry_run).count()
