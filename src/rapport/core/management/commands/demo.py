"""``rapport demo``: fill the database with a deterministic demo workspace."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from rapport.accounts.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from rapport.accounts.models import User


def demo_loaders() -> list:
    """``load(seed=…)`` of every installed Rapport app that ships demo data, in app order.

    A loader may accept more keyword arguments named after the command's options
    (``contacts``); it gets those the user gave."""
    loaders = []
    for config in apps.get_app_configs():
        if not config.name.startswith("rapport."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.demo":
                raise
            continue
        loaders.append(module.load)
    return loaders


def loader_options(load: Callable[..., None], given: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave that ``load`` takes."""
    accepted = inspect.signature(load).parameters
    return {name: value for name, value in given.items() if value is not None and name in accepted}


class Command(BaseCommand):
    help = (
        "Create demo users, teams and records for every module, the same for the same seed. "
        "Prints how to log in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=1, help="Seed of the generated data (default 1)."
        )
        parser.add_argument(
            "--contacts",
            type=int,
            help="Build this many contacts, and a fifth as many companies, quickly "
            "(1000000 for the benchmarks). Default: a few thousand.",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing if demo data is already loaded (what `make run` uses).",
        )

    def handle(
        self, *args: Any, seed: int, once: bool, contacts: int | None, **options: Any
    ) -> None:
        if contacts is not None and contacts < 0:
            raise CommandError("--contacts must be zero or more.")
        already = User.objects.filter(email=DEMO_ADMIN_EMAIL).exists()
        if already and once:
            self.stdout.write("Demo data is already loaded.")
        elif already:
            raise CommandError(
                f"Demo data is already loaded ({DEMO_ADMIN_EMAIL} exists); use a fresh database."
            )
        else:
            with transaction.atomic():
                for load in demo_loaders():
                    load(seed=seed, **loader_options(load, {"contacts": contacts}))
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded (seed {seed})."))
        self.stdout.write(
            f"Log in at http://127.0.0.1:8000/ as {DEMO_ADMIN_EMAIL} with password {DEMO_PASSWORD}"
        )
