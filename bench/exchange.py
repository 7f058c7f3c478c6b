"""Import and export benchmarks (``python bench/run.py --import-contacts N``).

Import: ``rapport import contacts`` of a generated CSV of ``N`` people (name,
email, phone, city, country), upsert by email, timed as a subprocess with its
peak memory. Its ceiling writes the very rows the import wrote — contacts,
emails, phones, addresses, audit entries, outbox events, search entries —
with ``core.bulk.insert`` (executemany on SQLite, COPY on PostgreSQL) into the
same tables with the same indexes: they are read back, deleted and inserted
again chunk by chunk, only the inserts timed.

Export: every contact to CSV through the export service, against a bare
SELECT of the same columns written with ``csv.writer``.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers

CHUNK = 5_000
CITIES = (
    ("Berlin", "Germany", "+49 30 ", "DE"),
    ("Paris", "France", "+33 1 ", "FR"),
    ("London", "UK", "+44 20 ", "GB"),
)
FIRST = ("Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas")
LAST = ("Müller", "Martin", "Smith", "Dubois", "Schmidt", "Brown", "Bernard", "Fischer")


def _phone(chooser: random.Random, prefix: str, region: str) -> str:
    """A valid number of the city: the import would refuse an invalid one."""
    while True:
        number = prefix + f"{chooser.randrange(10**7, 10**8):08d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def write_people(path: Path, count: int) -> None:
    """``count`` people with unique emails and valid phone numbers, the same every run."""
    chooser = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First name", "Last name", "Email", "Phone", "City", "Country"])
        for number in range(count):
            city, country, prefix, region = chooser.choice(CITIES)
            writer.writerow(
                [
                    chooser.choice(FIRST),
                    chooser.choice(LAST),
                    f"person{number}@import.example.com",
                    _phone(chooser, prefix, region),
                    city,
                    country,
                ]
            )


def run_import(path: Path, admin_email: str) -> tuple[float, float, str]:
    """Seconds, peak memory in MB and output of ``rapport import`` as a subprocess."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    finished = subprocess.run(
        [sys.executable, "-m", "rapport", "import", "contacts", str(path), "--as", admin_email],
        env={**os.environ},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return seconds, peak, finished.stdout.strip().splitlines()[0]


def _written_tables():
    from rapport.contacts.models import Address, Contact, ContactEmail, Phone
    from rapport.core.models import AuditEntry, OutboxEvent, SearchEntry

    return Contact, ContactEmail, Phone, Address, AuditEntry, OutboxEvent, SearchEntry


def _rows_of(ids: list[int]) -> dict:
    """Every row the import wrote for the contacts ``ids``, per model, as insert dicts."""
    from django.contrib.contenttypes.models import ContentType

    contact, email, phone, address, audit, outbox, entry = _written_tables()
    texts = [str(pk) for pk in ids]
    selections = {
        contact: contact.all_objects.filter(pk__in=ids),
        email: email.objects.filter(contact_id__in=ids),
        phone: phone.objects.filter(contact_id__in=ids),
        address: address.objects.filter(contact_id__in=ids),
        audit: audit.objects.filter(
            content_type=ContentType.objects.get_for_model(contact), object_id__in=texts
        ),
        outbox: outbox.objects.filter(aggregate_type="contacts.contact", aggregate_id__in=texts),
        entry: entry.objects.filter(object_type="contacts.contact", object_id__in=ids),
    }
    return {
        model: [
            {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields}
            for row in rows
        ]
        for model, rows in selections.items()
    }


def raw_insert_seconds() -> tuple[float, int]:
    """Seconds to insert again, table by table in bulk, every row the import wrote."""
    from django.db import transaction

    from rapport.contacts.models import Contact
    from rapport.core import bulk

    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    total, rows = 0.0, 0
    for start in range(0, len(ids), CHUNK):
        chunk = _rows_of(ids[start : start + CHUNK])
        with transaction.atomic():
            for model in reversed(list(chunk)):
                filters = {"pk__in": [row[model._meta.pk.attname] for row in chunk[model]]}
                # One DELETE per table: the rows go back in below, so nothing cascades.
                model._base_manager.filter(**filters)._raw_delete("default")
        started = time.perf_counter()
        with transaction.atomic():
            for model, values in chunk.items():
                rows += bulk.insert(model, values)
        total += time.perf_counter() - started
    return total, rows


def bench_import(count: int, result) -> list[dict]:
    from rapport.accounts.demo import load as load_people
    from rapport.accounts.models import User

    if not User.objects.exists():
        load_people(seed=1)
    admin = User.objects.filter(role__is_admin=True).first()
    folder = Path(tempfile.mkdtemp(prefix="rapport-import-"))
    source = folder / "people.csv"
    write_people(source, count)
    seconds, peak_mb, summary = run_import(source, admin.email)
    ceiling, rows = raw_insert_seconds()
    again = folder / "again.csv"
    repeat_count = min(count, 20_000)
    with source.open(encoding="utf-8") as handle:
        again.write_text("".join(handle.readline() for _ in range(repeat_count + 1)))
    repeat_seconds, _peak, repeat_summary = run_import(again, admin.email)
    return [
        result(
            "import of contacts from CSV (validate, standardise, upsert by email)",
            count,
            seconds,
            ceiling,
            f"{count / seconds:,.0f} rows/s; peak memory {peak_mb:,.0f} MB; {summary} "
            f"ceiling: the {rows:,} rows it wrote (contacts, emails, phones, addresses, audit, "
            "outbox, search) inserted again in bulk",
        ),
        result(
            "import of the same file again (all unchanged)",
            repeat_count,
            repeat_seconds,
            ceiling * repeat_count / count,
            f"{repeat_count / repeat_seconds:,.0f} rows/s; {repeat_summary} ceiling: the first "
            "import's, pro rata",
        ),
    ]


def bench_export(result) -> list[dict]:
    from django.db import connection

    from rapport.accounts.models import User
    from rapport.contacts import queries
    from rapport.contacts.exports import clean_export_params, export_write
    from rapport.contacts.models import Contact

    admin = User.objects.filter(role__is_admin=True).first()
    count = Contact.objects.count()
    params = clean_export_params({"columns": ["email", "phone", "lifecycle_stage"]})
    started = time.perf_counter()
    with tempfile.TemporaryFile() as buffer:
        export_write(
            buffer,
            owner=admin,
            model=Contact,
            list_query=queries.contact_list,
            params=params,
            progress=lambda done, total: None,
        )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as handle:
        writer = csv.writer(handle)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT first_name, last_name, email, phone, lifecycle_stage FROM "
                "contacts_contact WHERE deleted_at IS NULL ORDER BY last_name, first_name, id"
            )
            while rows := cursor.fetchmany(5_000):
                writer.writerows(rows)
    ceiling = time.perf_counter() - started
    return [
        result(
            "export of every contact to CSV (name, email, phone, stage)",
            count,
            seconds,
            ceiling,
            f"{count / seconds:,.0f} rows/s; ceiling: the bare SELECT written with csv.writer",
        )
    ]
