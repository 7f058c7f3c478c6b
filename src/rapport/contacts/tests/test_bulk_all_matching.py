"""Bulk actions on every row the list's filters match: a background job that walks the
rows in batches as its owner sees them, through the same services as ticked rows, with
progress, cancel and a result listing what it could not change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from rapport.contacts import bulk_actions, services
from rapport.contacts.models import Company, Contact, Tag
from rapport.core.actors import Actor
from rapport.core.jobs import job_cancel, job_run, job_start
from rapport.core.models import AuditEntry, Job, JobStatus, OutboxEvent, Source

pytestmark = pytest.mark.django_db

MANY = 120  # three batches of 50, 50 and 20


def actor(user) -> Actor:
    return Actor(user=user, source=Source.UI)


def body(response) -> str:
    return response.content.decode()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_contact(user, first: str, last: str = "", **values) -> Contact:
    return services.contact_create(
        actor=actor(user), values={"first_name": first, "last_name": last, **values}
    )


@pytest.fixture
def vip(as_admin) -> Tag:
    return services.tag_create(actor=as_admin, name="VIP", color="#d97706")


@pytest.fixture
def many(alice) -> list[Contact]:
    """Alice's contacts, written straight to the table: only their number matters here."""
    Contact.objects.bulk_create(
        Contact(first_name=f"P{number:03}", owner=alice, lifecycle_stage="lead")
        for number in range(MANY)
    )
    return list(Contact.objects.order_by("pk"))


@pytest.fixture
def batches(monkeypatch) -> dict[str, list[int]]:
    """The size of each batch handed to the bulk services, per service."""
    seen: dict[str, list[int]] = {}
    for name in ("bulk_tag", "bulk_delete", "bulk_assign_owner", "list_add"):
        original = getattr(services, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            records = args[1] if _name == "list_add" else args[0]
            seen.setdefault(_name, []).append(len(records))
            return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, counting)
    return seen


def start(client: Client, capture, url: str = "/contacts/bulk/", **data) -> Job:
    """Post the bulk form for all matching rows and let the job run once it commits."""
    with capture(execute=True):
        response = client.post(url, {"scope": "filtered", **data})
    assert response.status_code == 302, body(client.get(url.replace("bulk/", "")))
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    return job


def test_tag_every_matching_contact_in_three_batches(
    alice_client, alice, many, vip, batches, django_capture_on_commit_callbacks
):
    outsider = add_contact(alice, "Customer", lifecycle_stage="customer")

    job = start(
        alice_client,
        django_capture_on_commit_callbacks,
        action="add_tag",
        tag=vip.pk,
        query="lifecycle_stage=lead&sort=-name&columns=email",
    )

    assert job.status == JobStatus.SUCCEEDED, job.message
    assert batches["bulk_tag"] == [50, 50, 20]
    assert (job.progress_done, job.progress_total) == (MANY, MANY)
    assert Contact.objects.filter(tags=vip).count() == MANY
    assert not outsider.tags.exists()
    assert job.message == "Tag added to 120 records."
    assert (job.result["done"], job.result["failed"], job.result["failures"]) == (MANY, 0, [])
    assert job.owner == alice
    # Each record went through the service: its own audit entry and event.
    assert AuditEntry.objects.filter(action="update", actor=alice).count() == MANY
    assert OutboxEvent.objects.filter(name="contact.updated").count() == MANY


def test_records_the_action_moves_out_of_the_filters_are_each_done_once(
    alice, as_alice, many, vip, batches, django_capture_on_commit_callbacks
):
    for contact in many:
        contact.tags.add(vip)

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            actor=as_alice,
            kind=bulk_actions.BULK_JOB_KIND,
            title="Untag",
            params={
                "object_type": "contacts.contact",
                "action": "remove_tag",
                "filters": {"tag": str(vip.pk)},
                "tag": vip.pk,
            },
        )

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert batches["bulk_tag"] == [50, 50, 20]
    assert not Contact.objects.filter(tags=vip).exists()
    assert job.result["done"] == MANY


def test_a_reps_job_touches_only_what_the_rep_may_see_and_lists_refusals(
    alice_client, alice, bob, charlie, django_capture_on_commit_callbacks
):
    ann = add_contact(alice, "Ann", "Archer")
    ben = add_contact(bob, "Ben", "Baker")  # a teammate's: seen, not deletable by Alice
    cid = add_contact(charlie, "Cid", "Carter")  # another team's: not seen at all

    job = start(alice_client, django_capture_on_commit_callbacks, action="delete", query="")

    assert job.status == JobStatus.SUCCEEDED
    assert Contact.all_objects.get(pk=ann.pk).is_deleted
    assert Contact.objects.filter(pk__in=[ben.pk, cid.pk]).count() == 2
    assert job.message == "1 record moved to the trash. 1 record was not changed."
    assert job.result["failures"] == [
        {"id": ben.pk, "record": "Ben Baker", "reason": "You may not change this record."}
    ]
    assert (job.progress_done, job.progress_total) == (2, 2)  # Cid was never among them
    page = body(alice_client.get(f"/jobs/{job.pk}/"))
    assert "Not changed" in page and "Ben Baker: You may not change this record." in page
    assert "Cid" not in page


def test_forged_filters_reach_no_further_than_the_owners_permissions(
    as_alice, charlie, django_capture_on_commit_callbacks
):
    cid = add_contact(charlie, "Cid", "Carter")

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            actor=as_alice,
            kind=bulk_actions.BULK_JOB_KIND,
            title="Delete",
            params={
                "object_type": "contacts.contact",
                "action": "delete",
                "filters": {"id": str(cid.pk), "owner": str(charlie.pk)},
            },
        )

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.message == "Nothing needed changing."
    assert Contact.objects.filter(pk=cid.pk).exists()


def test_the_filters_are_read_when_the_job_runs(
    as_alice, alice, django_capture_on_commit_callbacks
):
    early = add_contact(alice, "Early", lifecycle_stage="customer")
    job = job_start(
        actor=as_alice,
        kind=bulk_actions.BULK_JOB_KIND,
        title="Delete customers",
        params={
            "object_type": "contacts.contact",
            "action": "delete",
            "filters": {"lifecycle_stage": "customer"},
        },
    )
    late = add_contact(alice, "Late", lifecycle_stage="customer")
    services.contact_update(early, actor=as_alice, values={"lifecycle_stage": "lead"})

    job_run(str(job.pk))

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Contact.all_objects.get(pk=late.pk).is_deleted
    assert not Contact.all_objects.get(pk=early.pk).is_deleted


def test_cancel_stops_the_job_between_batches(
    alice, as_alice, many, monkeypatch, django_capture_on_commit_callbacks
):
    original = services.bulk_delete

    def delete_then_cancel(records, *, actor):
        result = original(records, actor=actor)
        # The owner presses Cancel while the first batch runs.
        job_cancel(Job.objects.get(), actor=as_alice)
        return result

    monkeypatch.setattr(services, "bulk_delete", delete_then_cancel)

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            actor=as_alice,
            kind=bulk_actions.BULK_JOB_KIND,
            title="Delete all",
            params={"object_type": "contacts.contact", "action": "delete", "filters": {}},
        )

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert Contact.objects.count() == MANY - 50  # the batch done stays done
    assert job.progress_done == 0  # cancelled before it could report the first batch


def test_assign_owner_and_add_to_list_for_all_matching(
    alice_client, alice, bob, as_alice, many, django_capture_on_commit_callbacks
):
    guests = services.list_create(actor=as_alice, name="Guests")

    added = start(
        alice_client,
        django_capture_on_commit_callbacks,
        action="add_to_list",
        static_list=guests.pk,
        query="lifecycle_stage=lead",
    )
    Job.objects.all().delete()
    reassigned = start(
        alice_client,
        django_capture_on_commit_callbacks,
        action="assign_owner",
        owner=bob.pk,
        query="",
    )

    assert added.message == "120 contacts added to the list."
    assert guests.members.count() == MANY
    assert reassigned.message == "120 records reassigned."
    assert Contact.objects.filter(owner=bob).count() == MANY


def test_a_list_the_owner_may_not_change_fails_the_job_with_the_reason(
    alice_client, bob, many, django_capture_on_commit_callbacks
):
    bobs_list = services.list_create(actor=actor(bob), name="Bob's guests")

    job = start(
        alice_client,
        django_capture_on_commit_callbacks,
        action="add_to_list",
        static_list=bobs_list.pk,
        query="",
    )

    assert job.status == JobStatus.FAILED
    assert job.message == "You may not change this list."
    assert not bobs_list.members.exists()


def test_bulk_on_all_matching_companies(
    alice_client, as_alice, vip, batches, django_capture_on_commit_callbacks
):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    services.company_create(actor=as_alice, values={"name": "Globex"})

    job = start(
        alice_client,
        django_capture_on_commit_callbacks,
        url="/companies/bulk/",
        action="add_tag",
        tag=vip.pk,
        query="name=acm",
    )

    assert job.message == "Tag added to 1 record."
    assert list(Company.objects.filter(tags=vip)) == [acme]


def test_bad_filters_fail_the_job_with_the_reason(
    alice_client, many, django_capture_on_commit_callbacks
):
    job = start(
        alice_client,
        django_capture_on_commit_callbacks,
        action="delete",
        query="created_after=x&lifecycle_stage=astronaut",
    )

    assert job.status == JobStatus.FAILED
    assert "astronaut" in job.message
    assert Contact.objects.count() == MANY


def test_parameters_a_page_could_not_send_are_refused(as_alice, vip):
    bad = [
        {"object_type": "contacts.contact", "action": "merge", "filters": {}},
        {"object_type": "contacts.contact", "action": "export", "filters": {}},
        {
            "object_type": "contacts.company",
            "action": "add_to_list",
            "filters": {},
            "static_list": 1,
        },
        {"object_type": "accounts.user", "action": "delete", "filters": {}},
        {"object_type": "contacts.contact", "action": "add_tag", "filters": {}},
        {"object_type": "contacts.contact", "action": "add_tag", "filters": {}, "tag": "1"},
        {"object_type": "contacts.contact", "action": "delete", "filters": ["x"]},
    ]
    for params in bad:
        with pytest.raises(ValidationError):
            job_start(actor=as_alice, kind=bulk_actions.BULK_JOB_KIND, title="x", params=params)
    assert not Job.objects.exists()


def test_the_bulk_form_offers_all_matching_rows_with_their_count(alice_client, many):
    html = body(alice_client.get("/contacts/"))

    assert "All 50+ rows matching the filters" in html
    scoped = "assign_owner add_tag remove_tag add_to_list export export_vcard delete"
    assert f'data-bulk-for="{scoped}"' in html
    assert "Move every record matching the filters to the trash?" in html


def test_ticked_rows_still_act_at_once_and_merge_ignores_the_scope(alice_client, alice):
    ann = add_contact(alice, "Ann", "Archer")
    amy = add_contact(alice, "Amy", "Adams")

    deleted = alice_client.post(
        "/contacts/bulk/", {"action": "delete", "scope": "selected", "ids": [ann.pk]}, follow=True
    )
    merge = alice_client.post(
        "/contacts/bulk/", {"action": "merge", "scope": "filtered", "ids": [ann.pk, amy.pk]}
    )
    no_rows = alice_client.post(
        "/contacts/bulk/", {"action": "delete", "scope": "selected"}, follow=True
    )

    assert "1 record moved to the trash." in body(deleted)
    assert merge["Location"].startswith("/contacts/merge/")
    assert "Select at least one row." in body(no_rows)
    assert not Job.objects.exists()
