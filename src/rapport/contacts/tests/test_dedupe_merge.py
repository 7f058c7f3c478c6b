"""Merging every sure pair in the background: which record survives, records entered
three times, pairs the owner may not merge, refusals, and companies."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.contacts import dedupe, duplicates
from rapport.contacts.models import Company, Contact, DuplicateCandidate, DuplicateStatus
from rapport.contacts.tests.dedupe_data import firm, person
from rapport.core.models import Job, JobStatus

pytestmark = pytest.mark.django_db

CONTACTS = "contacts.contact"


def merge_sure(actor, capture, object_type: str = CONTACTS, **options) -> Job:
    with capture(execute=True):
        job = duplicates.duplicates_merge_start(actor=actor, object_type=object_type, **options)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    return job


def test_the_more_complete_record_survives_else_the_older(as_alice):
    rich = person(as_alice, "Ada", "Lovelace", email="ada@example.com", job_title="Analyst")
    poor = person(as_alice, "Ada", "Lovelace", email="ada@example.com")
    older = person(as_alice, "Bea", "Cole")
    newer = person(as_alice, "Bea", "Cole")
    Contact.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    older.refresh_from_db()

    assert duplicates.winner_and_loser(poor, rich) == (rich, poor)
    assert duplicates.winner_and_loser(newer, older) == (older, newer)


def test_a_person_entered_three_times_ends_as_one(as_alice, django_capture_on_commit_callbacks):
    first = person(as_alice, "Ada", "Lovelace", email="ada@example.com", job_title="Analyst")
    second = person(as_alice, "Ada", "Lovelase", email="ada@example.com")
    third = person(as_alice, "Ada", "Lovelace", email="ada@example.com", phone="+12025550143")
    dedupe.scan(CONTACTS)
    assert DuplicateCandidate.objects.filter(confidence__gte=95).count() == 3

    job = merge_sure(as_alice, django_capture_on_commit_callbacks)

    assert job.result["merged"] == 2
    assert job.message == "2 pairs merged."
    (survivor,) = Contact.objects.all()
    assert survivor.pk in {first.pk, third.pk}
    assert (survivor.job_title, survivor.phone) == ("Analyst", "+12025550143")
    assert {second.pk, third.pk, first.pk} - {survivor.pk} == set(
        Contact.all_objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)
    )
    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"merged"}


def test_pairs_below_the_threshold_or_out_of_reach_stay(
    as_alice, bob, django_capture_on_commit_callbacks
):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    as_bob = Actor(user=bob, source=Source.UI)
    person(as_alice, "Grace", "Hopper", phone="+12025550199")
    person(as_alice, "Grace", "Hoper", phone="+12025550199")
    person(as_alice, "Tim", "Berners-Lee", email="tim@w3.example")
    person(as_bob, "Tim", "Berners-Lee", email="tim@w3.example")
    dedupe.scan(CONTACTS)

    job = merge_sure(as_alice, django_capture_on_commit_callbacks)

    assert (job.result["merged"], job.result["failed"]) == (0, 0)
    assert job.message == "0 pairs merged."
    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"open"}
    assert Contact.objects.count() == 4


def test_a_lower_threshold_takes_more_pairs(as_alice, django_capture_on_commit_callbacks):
    person(as_alice, "Grace", "Hopper", phone="+12025550199")
    person(as_alice, "Grace", "Hoper", phone="+12025550199")
    dedupe.scan(CONTACTS)

    job = merge_sure(as_alice, django_capture_on_commit_callbacks, min_confidence=90)

    assert job.result["merged"] == 1
    assert Contact.objects.count() == 1


def test_a_refused_merge_is_listed_and_the_others_go_on(
    as_alice, monkeypatch, django_capture_on_commit_callbacks
):
    for name in ("Lovelace", "Hopper"):
        person(as_alice, "Ada", name, email=f"{name}@example.com")
        person(as_alice, "Ada", name, email=f"{name}@example.com")
    dedupe.scan(CONTACTS)
    original = duplicates.MERGES[CONTACTS]

    def refuse_hopper(winner, loser, **kwargs):
        if winner.last_name == "Hopper":
            raise ValidationError("Locked for an audit.")
        return original(winner, loser, **kwargs)

    monkeypatch.setitem(duplicates.MERGES, CONTACTS, refuse_hopper)

    job = merge_sure(as_alice, django_capture_on_commit_callbacks)

    assert (job.result["merged"], job.result["failed"]) == (1, 1)
    assert job.message == "1 pair merged. 1 pair could not be merged."
    (failure,) = job.result["failures"]
    assert failure["reason"] == "Locked for an audit."
    assert "Ada Hopper" in failure["record"]
    assert Contact.objects.filter(last_name="Hopper").count() == 2


def test_companies_merge_the_same_way(as_admin, admin, django_capture_on_commit_callbacks):
    acme = firm(as_admin, "Acme Inc.", domain="acme.com", city="Berlin")
    again = firm(as_admin, "ACME", domain="acme.com")
    employee = person(as_admin, "Ada", "Lovelace", company=again)
    dedupe.scan("contacts.company")

    job = merge_sure(as_admin, django_capture_on_commit_callbacks, object_type="contacts.company")

    assert job.result["merged"] == 1
    assert list(Company.objects.all()) == [acme]
    employee.refresh_from_db()
    assert employee.company == acme
    pair = DuplicateCandidate.objects.get()
    assert (pair.status, pair.decided_by) == (DuplicateStatus.MERGED, admin)


def test_only_one_merge_runs_at_a_time(as_alice):
    waiting = duplicates.duplicates_merge_start(actor=as_alice, object_type=CONTACTS)

    assert duplicates.duplicates_merge_start(actor=as_alice, object_type=CONTACTS) == waiting
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    ("object_type", "min_confidence"),
    [("contacts.contact", 89), ("contacts.contact", 101), ("accounts.user", 95)],
)
def test_bad_parameters_start_nothing(as_alice, object_type, min_confidence):
    with pytest.raises(ValidationError):
        duplicates.duplicates_merge_start(
            actor=as_alice, object_type=object_type, min_confidence=min_confidence
        )
    with pytest.raises(ValidationError):
        duplicates.duplicate_scan_start(actor=as_alice, object_type="accounts.user")

    assert not Job.objects.exists()


def test_a_merged_pair_cannot_be_dismissed(as_alice, django_capture_on_commit_callbacks):
    person(as_alice, "Ada", "Lovelace", email="ada@example.com")
    person(as_alice, "Ada", "Lovelace", email="ada@example.com")
    dedupe.scan(CONTACTS)
    merge_sure(as_alice, django_capture_on_commit_callbacks)
    pair = DuplicateCandidate.objects.get()

    with pytest.raises(ValidationError, match="merged already"):
        duplicates.duplicate_dismiss(pair, actor=as_alice)

    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED
