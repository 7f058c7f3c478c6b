"""``rapport import <records> <file>``: import a CSV or XLSX file from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.accounts.models import User
from rapport.core.actors import Actor
from rapport.core.jobs import JobError
from rapport.core.models import Source
from rapport.exchange import imports
from rapport.exchange.import_types import import_types
from rapport.exchange.management.commands.export import progress_bar
from rapport.exchange.models import ImportRun


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user has the email address {email}.")
    return user


def _mapping(run: ImportRun, path: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """The run's suggested mapping, or the one in ``path``: {"columns": {header: field},
    "options": {...}} as a saved mapping holds it, or just {header: field}."""
    if not path:
        return run.mapping, run.options
    try:
        given = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"Cannot read the mapping {path}: {error}") from None
    columns = given.get("columns", given) if isinstance(given, dict) else None
    if not isinstance(columns, dict):
        raise CommandError('The mapping must be {"header": "field", …} or {"columns": {…}}.')
    positions = {title: str(index) for index, title in enumerate(run.header)}
    unknown = sorted(set(columns) - set(positions))
    if unknown:
        raise CommandError(f"The file has no column named {', '.join(unknown)}.")
    options = {**run.options, **(given.get("options") or {})} if "columns" in given else run.options
    return {positions[title]: field for title, field in columns.items()}, options


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(m)}" for name, m in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Import companies, contacts, leads, deals or products from a CSV or XLSX file. "
        "Columns are mapped by their headers unless --mapping names a JSON file "
        '({"Header": "field"}); rows are matched to existing records by --key. '
        "Failed rows are listed with their line and reason; --failures writes them to a "
        "CSV file to fix and import again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = [kind.key for kind in import_types()]
        parser.add_argument("records", choices=kinds, help="What the file holds.")
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument("--as", dest="user", required=True, help="Email of the user importing.")
        parser.add_argument("--mapping", help="JSON file mapping column headers to fields.")
        parser.add_argument("--key", help="Field that matches existing records (e.g. email).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row, write nothing."
        )
        parser.add_argument(
            "--create-companies", action="store_true", help="Create missing companies."
        )
        parser.add_argument(
            "--resume", type=int, metavar="RUN", help="Resume interrupted import RUN."
        )
        parser.add_argument("--failures", help="Write the failed rows to this CSV file.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor(user=_user(options["user"]), source=Source.CLI)
        try:
            run = self._run(actor, options)
            with tqdm(total=run.total_rows, unit="rows", disable=options["verbosity"] < 1) as bar:
                result = imports.import_run_here(
                    run, actor=actor, dry_run=options["dry_run"], progress=progress_bar(bar)
                )
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        except PermissionDenied:
            raise CommandError("This user may not import these records.") from None
        except JobError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result["message"])
        self._report(run, options)
        self.stdout.write(f"Import {run.pk}.")

    def _run(self, actor: Actor, options: dict[str, Any]) -> ImportRun:
        if options["resume"]:
            run = ImportRun.objects.filter(pk=options["resume"], owner=actor.user).first()
            if run is None:
                raise CommandError(f"This user has no import {options['resume']}.")
            return imports.notice_interruption(run)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        with path.open("rb") as handle:
            run = imports.import_upload(
                actor=actor,
                object_type=options["records"],
                upload=File(handle, path.name),
                file_name=path.name,
            )
        mapping, run_options = _mapping(run, options["mapping"])
        if options["key"]:
            run_options = {**run_options, "key": options["key"]}
        if options["create_companies"]:
            run_options = {**run_options, "create_companies": True}
        return imports.import_configure(run, actor=actor, mapping=mapping, options=run_options)

    def _report(self, run: ImportRun, options: dict[str, Any]) -> None:
        run.refresh_from_db()
        dry_run = options["dry_run"]
        for failure in run.failures.filter(dry_run=dry_run).order_by("line")[:20]:
            self.stdout.write(f"  line {failure.line}: {failure.reason}")
        if options["failures"] and run.failures.filter(dry_run=dry_run).exists():
            actor = Actor(user=run.owner, source=Source.CLI)
            with Path(options["failures"]).open("w", encoding="utf-8", newline="") as output:
                output.writelines(imports.failures_csv(run, actor=actor, dry_run=dry_run))
            self.stdout.write(f"Failed rows written to {options['failures']}.")
