"""``rapport backup``: one archive of every table and stored file, taken while the app runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from tqdm import tqdm

from rapport.exchange.backup import BackupError, backup_write
from rapport.exchange.management.commands.export import progress_bar


def terminal_bar(description: str, *, hidden: bool) -> tqdm:
    """A progress bar of rows and files on standard error, drawn on a terminal only."""
    return tqdm(desc=description, unit=" items", file=sys.stderr, disable=True if hidden else None)


class Command(BaseCommand):
    help = (
        "Write a backup of this instance to one zip archive: every table as JSON Lines, "
        "every stored file (attachments, export results) and a manifest with row counts "
        "and SHA-256 checksums. The tables are read in one consistent snapshot, so the app "
        "and its workers may keep running. `rapport restore` loads the archive into an "
        "empty instance, on SQLite or PostgreSQL."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The archive to write, e.g. rapport.zip.")
        parser.add_argument(
            "--overwrite", action="store_true", help="Replace the archive if it exists."
        )
        parser.add_argument("--no-progress", action="store_true", help="Draw no progress bar.")

    def handle(self, *, path: Path, overwrite: bool, no_progress: bool, **options: Any) -> None:
        if path.exists() and not overwrite:
            raise CommandError(f"{path} exists; give --overwrite to replace it.")
        if not path.parent.is_dir():
            raise CommandError(f"There is no directory {path.parent}.")
        try:
            hidden = no_progress or options["verbosity"] < 1
            with terminal_bar("Backup", hidden=hidden) as bar:
                manifest = backup_write(path, progress=progress_bar(bar))
        except BackupError as error:
            raise CommandError(str(error)) from None
        for name in manifest.missing_files:
            self.stderr.write(
                self.style.WARNING(f"Missing from the file storage, not in the archive: {name}")
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path} ({filesizeformat(path.stat().st_size)}): "
                f"{manifest.rows} rows in {len(manifest.tables)} tables, "
                f"{len(manifest.files)} files."
            )
        )
