"""``rapport retention --preview | --apply``: the retention policies, now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.privacy import retention
from rapport.privacy.models import RetentionPolicy


class Command(BaseCommand):
    help = (
        "Show what each enabled retention policy would delete or anonymise now (--preview), "
        "or apply them (--apply). --all includes disabled policies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--preview", action="store_true", help="Count, change nothing.")
        mode.add_argument("--apply", action="store_true", help="Delete or anonymise.")
        parser.add_argument("--all", action="store_true", help="Disabled policies too.")

    def handle(self, *args: object, preview: bool, all: bool, **options: object) -> None:
        policies = RetentionPolicy.objects.all()
        if not all:
            policies = policies.filter(enabled=True)
        for policy in policies:
            if preview:
                found = retention.preview(policy)
                self.stdout.write(f"{policy.name}: would {policy.action} {found.count} records")
                for record in found.first:
                    self.stdout.write(f"  {record._meta.label_lower} {record.pk}")
            else:
                run = retention.apply(policy, actor=Actor(user=None, source=Source.CLI))
                self.stdout.write(
                    f"{policy.name}: {policy.action} {run.processed} records, {run.failed} failed"
                )
