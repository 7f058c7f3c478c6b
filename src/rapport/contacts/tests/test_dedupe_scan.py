"""The duplicate scan: what it finds, with which reasons and confidence, what it leaves
alone, and how a rescan keeps the queue (no second row, dismissals kept, stale pairs
gone)."""

from __future__ import annotations

import pytest

from rapport.contacts import dedupe, duplicates, services
from rapport.contacts.models import (
    Company,
    Contact,
    DuplicateCandidate,
    DuplicateStatus,
)
from rapport.contacts.tests.dedupe_data import firm, person
from rapport.core.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db

CONTACTS = "contacts.contact"
COMPANIES = "contacts.company"


def pairs(object_type: str = CONTACTS) -> dict[frozenset[int], DuplicateCandidate]:
    return {
        frozenset((row.low_id, row.high_id)): row
        for row in DuplicateCandidate.objects.filter(object_type=object_type)
    }


def pair_of(first, second, object_type: str = CONTACTS) -> DuplicateCandidate | None:
    return pairs(object_type).get(frozenset((first.pk, second.pk)))


@pytest.fixture
def acme(as_admin) -> Company:
    return firm(as_admin, "Acme")


@pytest.fixture
def planted(as_admin, acme) -> dict[str, tuple[Contact, Contact]]:
    """Pairs of the same person entered twice, each with a slip, and the ways they show."""
    bletchley = firm(as_admin, "Bletchley Park")
    return {
        "email": (
            person(as_admin, "Ada", "Lovelace", email="ada@example.com", company=acme),
            person(as_admin, "Ada", "Lovelase", email="ada@example.com"),
        ),
        "phone": (
            person(as_admin, "Grace", "Hopper", email="grace@navy.example", phone="+12025550143"),
            person(as_admin, "Grace", "Hoper", email="g.hopper@home.example", phone="2025550143"),
        ),
        "company": (
            person(as_admin, "Alan", "Turing", company=bletchley),
            person(as_admin, "Alan", "Turnig", company=bletchley),
        ),
        # A slip in the first letters of the last name: another block, found by the
        # second pass (first name first).
        "first letters": (
            person(as_admin, "Katherine", "Johnson", company=acme),
            person(as_admin, "Katherine", "Jhonson", company=acme),
        ),
        "accents": (
            person(as_admin, "José", "Núñez", city="München"),
            person(as_admin, "Jose", "Nunez", city="Munchen"),
        ),
    }


def test_finds_each_planted_pair_with_its_reasons_and_confidence(planted):
    result = dedupe.scan(CONTACTS)

    found = {kind: pair_of(*records) for kind, records in planted.items()}
    assert {kind: row.reasons for kind, row in found.items()} == {
        "email": ["same_email", "similar_name"],
        "phone": ["same_phone", "similar_name"],
        "company": ["similar_name", "same_company"],
        "first letters": ["similar_name", "same_company"],
        "accents": ["same_name", "same_city"],
    }
    assert found["email"].confidence == 97
    assert found["phone"].confidence == 90
    assert 60 <= found["company"].confidence < found["phone"].confidence
    assert found["accents"].confidence == 80
    assert all(row.status == DuplicateStatus.OPEN for row in found.values())
    assert (result.candidates, result.sure) == (5, 1)
    assert result.records == 10


def test_leaves_unrelated_people_alone(as_admin, acme):
    other = firm(as_admin, "Globex")
    # Same name, nothing else in common: two people.
    person(as_admin, "Anna", "Schmidt", email="anna@acme.example", company=acme)
    person(as_admin, "Anna", "Schmidt", email="schmidt@globex.example", company=other)
    # Colleagues whose names are alike, but not alike enough.
    person(as_admin, "John", "Smith", company=acme)
    person(as_admin, "Jane", "Smith", company=acme)
    # An office line shared by two people.
    person(as_admin, "Carl", "Berg", phone="+4930901820", company=acme)
    person(as_admin, "Dora", "Lind", phone="+49 30 901820", company=acme)

    result = dedupe.scan(CONTACTS)

    assert result.candidates == 0
    assert not DuplicateCandidate.objects.exists()


def test_a_shared_mailbox_is_proposed_low_with_different_names(as_admin):
    first = person(as_admin, "Maria", "Rossi", email="family@example.com")
    second = person(as_admin, "Paolo", "Bianchi", email="family@example.com")

    dedupe.scan(CONTACTS)

    row = pair_of(first, second)
    assert (row.confidence, row.reasons) == (50, ["same_email", "different_name"])


def test_same_email_and_a_blank_name_is_sure(as_admin):
    named = person(as_admin, "Ada", "Lovelace", email="ada@example.com", phone="+12025550143")
    bare = services.contact_create(actor=as_admin, values={"email": "ADA@example.com"})

    dedupe.scan(CONTACTS)

    row = pair_of(named, bare)
    assert (row.confidence, row.reasons) == (95, ["same_email"])


def test_identical_name_email_and_phone_is_certain(as_admin, acme):
    first = person(
        as_admin, "Ada", "Lovelace", email="ada@example.com", phone="+12025550143", company=acme
    )
    second = person(
        as_admin, "Ada", "Lovelace", email="ada@example.com", phone="+12025550143", company=acme
    )

    dedupe.scan(CONTACTS)

    row = pair_of(first, second)
    assert row.confidence == 100
    assert row.reasons == ["same_email", "same_phone", "same_name", "same_company"]


def test_a_rescan_adds_no_second_row_and_keeps_ids(planted):
    dedupe.scan(CONTACTS)
    before = {key: row.pk for key, row in pairs().items()}

    result = dedupe.scan(CONTACTS)

    assert {key: row.pk for key, row in pairs().items()} == before
    assert result.candidates == len(before) == DuplicateCandidate.objects.count()
    assert result.removed == 0


def test_a_dismissed_pair_stays_dismissed_through_rescans(planted, as_admin, admin):
    dedupe.scan(CONTACTS)
    row = pair_of(*planted["company"])
    duplicates.duplicate_dismiss(row, actor=as_admin)

    dedupe.scan(CONTACTS)

    row.refresh_from_db()
    assert row.status == DuplicateStatus.DISMISSED
    assert row.decided_by == admin
    assert row.pk not in duplicates.review_queue(admin, CONTACTS).values_list("pk", flat=True)
    assert duplicates.review_queue(admin, CONTACTS).count() == len(planted) - 1


def test_a_pair_no_longer_alike_leaves_the_queue_at_the_next_scan(planted, as_admin):
    dedupe.scan(CONTACTS)
    first, second = planted["email"]
    services.contact_update(
        second, actor=as_admin, values={"first_name": "Bea", "last_name": "Other", "email": ""}
    )

    result = dedupe.scan(CONTACTS)

    assert pair_of(first, second) is None
    assert result.removed == 1


def test_pairs_of_deleted_records_leave_the_queue_at_once_and_the_table_at_the_next_scan(
    planted, as_admin, admin
):
    dedupe.scan(CONTACTS)
    first, second = planted["phone"]
    services.contact_delete(second, actor=as_admin)

    queued = duplicates.review_queue(admin, CONTACTS)
    assert queued.count() == len(planted) - 1
    assert pair_of(first, second).status == DuplicateStatus.OPEN

    dedupe.scan(CONTACTS)
    assert pair_of(first, second) is None


def test_pairs_of_purged_records_are_removed_even_when_dismissed(planted, as_admin):
    dedupe.scan(CONTACTS)
    first, second = planted["company"]
    duplicates.duplicate_dismiss(pair_of(first, second), actor=as_admin)
    Contact.all_objects.filter(pk=second.pk).delete()

    dedupe.scan(CONTACTS)

    assert pair_of(first, second) is None


def test_a_key_shared_by_too_many_records_is_skipped(as_admin, monkeypatch):
    monkeypatch.setattr(dedupe, "SHARED_KEY_CAP", 3)
    for first in ("Ann", "Ben", "Cid", "Dan"):
        person(as_admin, first, "Mustermann", email="info@example.com")
    kept = [
        person(as_admin, "Eva", "Meyer", email="eva@example.com"),
        person(as_admin, "Eva", "Meier", email="eva@example.com"),
    ]

    result = dedupe.scan(CONTACTS)

    assert result.skipped_keys == 1
    assert list(pairs()) == [frozenset(contact.pk for contact in kept)]


def test_a_block_larger_than_the_cap_is_compared_in_sorted_windows(as_admin, acme, monkeypatch):
    monkeypatch.setattr(dedupe, "BLOCK_CAP", 4)
    monkeypatch.setattr(dedupe, "WINDOW_STEP", 2)
    # Ten people in the block "mül|k": first names far apart, but the two Konrads alike.
    for first in ("Kai", "Karl", "Kira", "Klaus", "Knut", "Kuno", "Kurt", "Kyra"):
        person(as_admin, first, "Müller", company=acme)
    konrad = person(as_admin, "Konrad", "Müller", company=acme)
    konrat = person(as_admin, "Konrat", "Müller", company=acme)

    result = dedupe.scan(CONTACTS)

    assert result.windowed_blocks >= 1
    assert pair_of(konrad, konrat).reasons == ["similar_name", "same_company"]


def test_companies_by_domain_phone_and_name_in_the_same_city(as_admin):
    acme = firm(as_admin, "Acme Inc.", domain="acme.com")
    acme_again = firm(as_admin, "ACME", domain="https://www.acme.com/about")
    globex = firm(as_admin, "Globex Corporation", phone="+4930901820")
    globex_again = firm(as_admin, "Globex Corp", phone="+49 (30) 901820")
    initech = firm(as_admin, "Initech GmbH", city="Berlin")
    initech_again = firm(as_admin, "Initech AG", city="Berlin")
    # The same name in two cities, and nothing else: two companies.
    firm(as_admin, "Umbrella", city="Paris")
    firm(as_admin, "Umbrella", city="Lyon")

    result = dedupe.scan(COMPANIES)

    found = pairs(COMPANIES)
    assert len(found) == result.candidates == 3
    row = found[frozenset((acme.pk, acme_again.pk))]
    assert (row.confidence, row.reasons) == (100, ["same_domain", "same_name"])
    row = found[frozenset((globex.pk, globex_again.pk))]
    assert (row.confidence, row.reasons) == (95, ["same_phone", "same_name"])
    row = found[frozenset((initech.pk, initech_again.pk))]
    assert (row.confidence, row.reasons) == (80, ["same_name", "same_city"])


def test_the_scan_job_reports_what_it_found(planted, as_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = duplicates.duplicate_scan_start(actor=as_admin, object_type=CONTACTS)

    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert job.message == "5 possible duplicate pairs found (1 sure) among 10 records."
    assert job.result["candidates"] == 5
    assert (job.progress_done, job.progress_total) == (20, 20)


def test_a_second_scan_while_one_waits_is_the_same_job(as_admin):
    waiting = duplicates.duplicate_scan_start(actor=as_admin, object_type=CONTACTS)

    again = duplicates.duplicate_scan_start(actor=as_admin, object_type=CONTACTS)
    other_type = duplicates.duplicate_scan_start(actor=as_admin, object_type=COMPANIES)

    assert again == waiting
    assert other_type != waiting


def test_folding_is_the_same_in_python_and_in_the_database(as_admin):
    person(as_admin, "Émile", "Ørsted")
    dedupe.register_fold()

    kind = dedupe.KINDS[CONTACTS]
    blocks = [row[-1] for block in kind.blocks for row in kind.rows(block)]

    assert blocks == ["ors|e", "emi|o"]
    assert dedupe.fold("Émile Ørsted Łukasz") == "emile orsted lukasz"
    assert dedupe.comparable("  José-María ", "NÚÑEZ") == "jose maria nunez"


def test_the_scan_changes_no_record(planted):
    """No audit entry, no event: the scan only reads the records."""
    audit, events = AuditEntry.objects.count(), OutboxEvent.objects.count()

    dedupe.scan(CONTACTS)

    assert (AuditEntry.objects.count(), OutboxEvent.objects.count()) == (audit, events)
