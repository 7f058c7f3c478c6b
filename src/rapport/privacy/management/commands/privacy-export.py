"""``rapport privacy-export <contact id> <out.zip>``: everything held about one person."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.privacy.exports import export_to_path


class Command(BaseCommand):
    help = (
        "Write everything held about one contact (their record, activities and emails, "
        "tasks, deals, leads, orders, quotes, consents, audit entries and attached files) "
        "to a ZIP of JSON files, for a data-subject access request. The export is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contact", type=int, help="The contact's id.")
        parser.add_argument("output", help="The ZIP file to write.")

    def handle(self, *args: object, contact: int, output: str, **options: object) -> None:
        found = Contact.all_objects.filter(pk=contact).first()
        if found is None:
            raise CommandError(f"No contact has id {contact}.")
        counts = export_to_path(
            actor=Actor(user=None, source=Source.CLI), contact=found, path=output
        )
        summary = ", ".join(f"{name}: {count}" for name, count in counts.items())
        self.stdout.write(f"Wrote {output} ({summary}).")
