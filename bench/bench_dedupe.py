"""The duplicate scan over demo contacts with planted duplicates: how fast, and what it finds.

    python bench/bench_dedupe.py --contacts 100000

Builds N demo contacts (``rapport.contacts.demo.load``, a fifth as many
companies), then plants a deterministic share of duplicates: copies of existing
contacts with a typo in the name and

- the same email address (``email``: expected sure, 95 or more),
- another email but the same phone number (``phone``: expected high),
- another email, no phone, the same company (``company``: expected medium).

It times the contact scan and, as the ceiling, the bare read of the same rows in
the same orders (the queries the scan streams, one per blocking pass, without
comparing anything),
then the company scan, and reports how many planted pairs each scan found, with
what confidence, and how many other pairs it proposed (the demo generator itself
makes some people twice: same name at a company of the same name, hence the
same address). Runs on a throw-away SQLite database unless
``RAPPORT_BENCH_DATABASE_URL`` names a PostgreSQL one.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    best_of,
    configure_environment,
    empty_contacts,
    empty_tables,
    sales_manager,
    sales_rep,
    seed_contacts,
)

PLANTED_KINDS = ("email", "phone", "company")
T = TypeVar("T")


def typo(rng: random.Random, name: str) -> str:
    """``name`` with one slip of the keyboard: a letter dropped, doubled, swapped or wrong."""
    if len(name) < 4:
        return name + rng.choice("aeiou")
    at = rng.randrange(1, len(name) - 1)
    slip = rng.choice(("drop", "double", "swap", "replace"))
    if slip == "drop":
        return name[:at] + name[at + 1 :]
    if slip == "double":
        return name[:at] + name[at] + name[at:]
    if slip == "swap":
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    return name[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + name[at + 1 :]


def plant_duplicates(share: float, seed: int) -> list[tuple[int, int, str]]:
    """Copy ``share`` of the contacts (with a company) as described above; returns
    ``(original id, copy id, kind)``."""
    from rapport.contacts.models import Contact, ContactEmail, EmailKind, Phone, PhoneKind
    from rapport.core import bulk

    rng = random.Random(seed)
    fields = ("id", "first_name", "last_name", "email", "phone", "company_id", "owner_id")
    originals = list(
        Contact.objects.filter(company__isnull=False).order_by("id").values_list(*fields)
    )
    chosen = rng.sample(originals, int(len(originals) * share))
    ids = bulk.reserve_ids(Contact, len(chosen))
    contacts, emails, phones, planted = [], [], [], []
    for new_id, (pk, first, last, email, phone, company_id, owner_id) in zip(
        ids, chosen, strict=True
    ):
        kind = PLANTED_KINDS[len(planted) % len(PLANTED_KINDS)]
        if not phone and kind == "phone":
            kind = "email"
        if rng.random() < 0.5:
            first = typo(rng, first)
        else:
            last = typo(rng, last)
        if kind != "email":
            email = f"{first.lower()}.{new_id}@example.net"
        copy_phone = phone if kind == "phone" else ""
        contacts.append(
            {
                "id": new_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": copy_phone,
                "company_id": company_id,
                "owner_id": owner_id,
            }
        )
        emails.append(
            {"contact_id": new_id, "email": email, "kind": EmailKind.WORK, "is_primary": True}
        )
        if copy_phone:
            phones.append(
                {
                    "contact_id": new_id,
                    "company_id": None,
                    "number": copy_phone,
                    "kind": PhoneKind.MOBILE,
                    "is_primary": True,
                }
            )
        planted.append((pk, new_id, kind))
    bulk.insert(Contact, contacts)
    bulk.insert(ContactEmail, emails)
    bulk.insert(Phone, phones)
    bulk.reset_sequences(Contact)
    bulk.analyze(Contact, ContactEmail, Phone)
    return planted


def bare_read() -> int:
    """The ceiling: the scan's streaming query alone."""
    from rapport.contacts import dedupe

    dedupe.register_fold()
    kind = dedupe.KINDS["contacts.contact"]
    return sum(1 for block in kind.blocks for _row in kind.rows(block).iterator(chunk_size=5000))


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = action()
    return value, time.perf_counter() - started


def report_planted(planted: list[tuple[int, int, str]]) -> None:
    from rapport.contacts.models import DuplicateCandidate

    found = {
        (row.low_id, row.high_id): row
        for row in DuplicateCandidate.objects.filter(object_type="contacts.contact")
    }
    for kind in PLANTED_KINDS:
        pairs = [tuple(sorted((a, b))) for a, b, k in planted if k == kind]
        hits = [found[pair] for pair in pairs if pair in found]
        confidences = [hit.confidence for hit in hits]
        median = statistics.median(confidences) if confidences else "-"
        low = min(confidences) if confidences else "-"
        print(
            f"  planted {kind:8}: {len(hits):,} of {len(pairs):,} found "
            f"({len(hits) / max(1, len(pairs)):.1%}), confidence median {median}, lowest {low}"
        )
    planted_pairs = {tuple(sorted((a, b))) for a, b, _kind in planted}
    others = [row for pair, row in found.items() if pair not in planted_pairs]
    reasons = Counter(" + ".join(row.reasons) for row in others)
    print(f"  other pairs proposed: {len(others):,}")
    for reason, count in reasons.most_common(8):
        print(f"    {count:,}: {reason}")


def time_queue_pages(repeat: int) -> None:
    """The review queue's first page (50 pairs and their records) for a sales manager (merge
    scope: the team) and a sales rep (their own records), as the page reads it."""
    from django.test import Client

    from rapport.contacts import duplicates
    from rapport.core.pagination import keyset_page

    for label, user in (("sales manager", sales_manager()), ("sales rep", sales_rep())):

        def first_page(user=user) -> int:
            queue = duplicates.review_queue(user, "contacts.contact")
            page = keyset_page(queue, ordering=duplicates.SORTS["-confidence"], cursor=None)
            return len(duplicates.with_records(page.items, "contacts.contact"))

        shown = first_page()
        elapsed = best_of(repeat, first_page)
        print(f"queue first page ({label}, {shown} pairs): {elapsed * 1000:.1f} ms")
    client = Client(SERVER_NAME="localhost")
    client.force_login(sales_manager())
    elapsed = best_of(repeat, lambda: client.get("/duplicates/"))
    print(f"queue page over HTTP (sales manager): {elapsed * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000, help="demo contacts to build")
    parser.add_argument(
        "--planted", type=float, default=0.03, help="share of contacts copied as duplicates"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20, help="timings per page query")
    args = parser.parse_args()

    configure_environment()
    data_dir = os.environ["RAPPORT_DATA_DIR"]
    import django

    django.setup()
    try:
        run(args)
    finally:
        from django.db import connection

        connection.close()
        # Only the directory this run made (configure_environment's mkdtemp).
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from rapport.contacts import dedupe
    from rapport.contacts.models import Company, Contact, DuplicateCandidate

    call_command("migrate", verbosity=0)
    # The page renders static URLs from the manifest, as a deployed server does.
    call_command("collectstatic", interactive=False, verbosity=0)
    DuplicateCandidate.objects.all().delete()
    empty_contacts()
    empty_tables()
    seconds = seed_contacts(args.contacts)
    print(f"{args.contacts:,} contacts built in {seconds:.0f} s", file=sys.stderr)
    planted, seconds = timed(lambda: plant_duplicates(args.planted, args.seed))
    print(f"{len(planted):,} duplicates planted in {seconds:.1f} s", file=sys.stderr)
    contacts = Contact.objects.count()

    rows, ceiling = timed(bare_read)
    cpu = time.process_time()
    result, elapsed = timed(lambda: dedupe.scan("contacts.contact"))
    cpu = time.process_time() - cpu
    print(f"{connection.vendor}, {contacts:,} live contacts")
    print(
        f"contact scan: {elapsed:.1f} s ({contacts / elapsed:,.0f} contacts/s; {cpu:.1f} s of "
        f"this process's CPU, SQLite included, which a busy machine does not inflate); "
        f"ceiling, the bare read of its {rows:,} rows in block orders: {ceiling:.1f} s "
        f"(ratio {elapsed / ceiling:.1f})"
    )
    print(
        f"  {result.candidates:,} pairs ({result.sure:,} sure), {result.skipped_keys:,} keys "
        f"skipped as too widely shared, {result.windowed_blocks:,} blocks compared in windows"
    )
    report_planted(planted)
    _again, rescan = timed(lambda: dedupe.scan("contacts.contact"))
    print(f"rescan (the queue already filled): {rescan:.1f} s")
    time_queue_pages(args.repeat)

    companies = Company.objects.count()
    result, elapsed = timed(lambda: dedupe.scan("contacts.company"))
    print(
        f"company scan: {elapsed:.1f} s over {companies:,} companies "
        f"({companies / elapsed:,.0f}/s): {result.candidates:,} pairs ({result.sure:,} sure), "
        f"{result.skipped_keys:,} keys skipped, {result.windowed_blocks:,} blocks in windows"
    )


if __name__ == "__main__":
    main()
