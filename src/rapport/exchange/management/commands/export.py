"""``rapport export <records>``: a list's rows, filtered as on its page, to a file."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.accounts.models import User
from rapport.contacts.exports import (
    EXPORTABLES,
    FORMATS,
    clean_export_params,
    export_write,
    may_export,
)
from rapport.core.jobs import JobError


def _filters(pairs: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"Give each filter as name=value, not {pair!r}.")
        filters.setdefault(name, []).append(value)
    return filters


def progress_bar(bar: tqdm) -> Callable[[int, int | None], None]:
    def update(done: int, total: int | None) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update


class Command(BaseCommand):
    help = (
        "Export companies, contacts, deals, leads or products as CSV, XLSX or JSON Lines, "
        "with the filters and columns of their list pages (the names in a list page's address: "
        "--filter lifecycle_stage=customer --filter owner=12 --columns email,phone). "
        "Rows stream from the database; only what the user may export is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("records", choices=sorted(EXPORTABLES), help="What to export.")
        parser.add_argument("--as", dest="user", required=True, help="Email of the user exporting.")
        parser.add_argument("--format", choices=sorted(FORMATS), default="csv")
        parser.add_argument("--filter", action="append", default=[], metavar="NAME=VALUE")
        parser.add_argument("--columns", default="", help="Comma-separated column names.")
        parser.add_argument("--sort", default="", help="A column name, - in front to reverse.")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user has the email address {options['user']}.")
        exportable = EXPORTABLES[options["records"]]
        try:
            may_export(exportable.model)(user)
            params = clean_export_params(
                {
                    "filters": _filters(options["filter"]),
                    "columns": [c for c in options["columns"].split(",") if c],
                    "sort": options["sort"],
                    "format": options["format"],
                }
            )
        except PermissionDenied:
            raise CommandError("This user may not export these records.") from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        show = bool(options["output"]) and options["verbosity"] > 0
        target = Path(options["output"]).open("wb") if options["output"] else None  # noqa: SIM115
        with target or contextlib.nullcontext(sys.stdout.buffer) as output:
            try:
                with tqdm(unit="rows", disable=not show, file=sys.stderr) as bar:
                    written = export_write(
                        output,
                        owner=user,
                        model=exportable.model,
                        list_query=exportable.list_query,
                        params=params,
                        progress=progress_bar(bar),
                    )
            except JobError as error:
                raise CommandError(str(error)) from None
        if show:
            self.stderr.write(f"{written} rows written to {options['output']}.")
