"""``rapport erase-person <contact id>``: anonymise one person everywhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.privacy.erasure import erase_person


class Command(BaseCommand):
    help = (
        "Erase a contact's personal data everywhere (record, leads with their address, "
        "activities, files, history, search index), keeping amounts and counts; a "
        "background job then sweeps the rest of the database (a worker runs it). Cannot "
        "be undone: asks you to type ERASE unless --yes is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contact", type=int, help="The contact's id.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: object, contact: int, yes: bool, **options: object) -> None:
        found = Contact.all_objects.filter(pk=contact).first()
        if found is None:
            raise CommandError(f"No contact has id {contact}.")
        confirmation = "ERASE" if yes else input("Type ERASE to erase this person for good: ")
        try:
            record = erase_person(
                contact=found, actor=Actor(user=None, source=Source.CLI), confirmation=confirmation
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            f"Erased contact {contact} (erasure record {record.pk}); the sweep of the rest of "
            "the database is queued for the worker."
        )
