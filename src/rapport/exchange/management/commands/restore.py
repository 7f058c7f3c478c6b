"""``rapport restore``: load a ``rapport backup`` archive into an empty instance."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.exchange.backup import BackupError, backup_restore, backup_verify
from rapport.exchange.management.commands.backup import terminal_bar
from rapport.exchange.management.commands.export import progress_bar


class Command(BaseCommand):
    help = (
        "Load an archive `rapport backup` wrote into this instance, which must be empty: "
        "a new database (SQLite or PostgreSQL, either way round) that `rapport migrate` "
        "has set up with the same version of Rapport, and an empty file storage. The "
        "archive is checked whole first; a damaged archive or an instance holding data is "
        "refused before anything is written, and a failed restore writes nothing. The "
        "search index is rebuilt at the end."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The archive to load.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only check the archive (manifest and checksums); write nothing.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Draw no progress bar.")

    def handle(self, *, path: Path, check: bool, no_progress: bool, **options: Any) -> None:
        service = backup_verify if check else backup_restore
        hidden = no_progress or options["verbosity"] < 1
        try:
            with terminal_bar("Check" if check else "Restore", hidden=hidden) as bar:
                manifest = service(path, progress=progress_bar(bar))
        except BackupError as error:
            raise CommandError(str(error)) from None
        verb = "is sound" if check else "restored"
        self.stdout.write(
            self.style.SUCCESS(
                f"{path} {verb}: {manifest.rows} rows in {len(manifest.tables)} tables, "
                f"{len(manifest.files)} files, from a {manifest.database_vendor} database "
                f"backed up at {manifest.created_at} (Rapport {manifest.app_version})."
            )
        )
