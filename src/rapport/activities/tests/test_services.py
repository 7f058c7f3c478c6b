"""The activity services: each kind's rules, links and who may make them, attendees,
mentions, the audit trail, and the "last contacted" / "next activity" dates."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from rapport.accounts.models import Role
from rapport.activities import services
from rapport.activities.engagement import refresh_begun, refresh_engagement
from rapport.activities.links import Target
from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.activities.tests.factories import ago, later, log_call, log_note
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditEntry, OutboxEvent
from rapport.core.services import record_purge, record_restore
from rapport.core.tasks import dispatch_until_empty
from rapport.notifications.models import Notification

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def links_of(activity: Activity) -> set[Target]:
    return set(services.link_targets(activity))


# Each kind


def test_a_note_is_linked_audited_and_announced(as_alice, ann, acme):
    note = services.activity_create(
        actor=as_alice, kind="note", links=[ann, acme], values={"body": "Likes\nblue"}
    )

    assert note.owner == as_alice.user
    assert links_of(note) == {Target.of(ann), Target.of(acme)}
    assert set(
        ActivityLink.objects.filter(activity=note).values_list("occurred_at", flat=True)
    ) == {note.occurred_at}
    assert AuditEntry.objects.filter(object_id=str(note.pk), action="create").exists()
    assert OutboxEvent.objects.filter(name="activity.created", aggregate_id=str(note.pk)).exists()


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("call", {"direction": "in", "duration_seconds": 0, "outcome": "voicemail"}),
        (
            "email",
            {
                "direction": "out",
                "subject": "Quote",
                "email_from": "alice@example.com",
                "email_to": ["ann@acme.test"],
                "email_cc": ["boss@acme.test"],
                "message_id": "<1@example.com>",
                "thread_id": "<1@example.com>",
            },
        ),
        ("chat", {"direction": "in", "channel": "whatsapp", "body": "Hi!"}),
        ("social", {"direction": "out", "channel": "linkedin", "body": "Congrats"}),
        ("visit", {"location": "Their plant in Lyon"}),
    ],
)
def test_every_kind_takes_its_own_fields(as_alice, ann, kind, values):
    activity = services.activity_create(actor=as_alice, kind=kind, links=[ann], values=values)

    activity.refresh_from_db()
    for name, value in values.items():
        assert getattr(activity, name) == value


def test_a_meeting_happens_at_its_start_with_its_attendees_linked(as_alice, ann, acme, bob):
    other = contacts.contact_create(actor=as_alice, values={"first_name": "Otto"})
    start = later(days=2)

    meeting = services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[acme],
        values={"subject": "Kick-off", "starts_at": start, "ends_at": later(days=2, hours=1)},
        attendee_users=[bob.pk],
        attendee_contacts=[ann.pk, other.pk],
    )

    assert meeting.occurred_at == start
    assert links_of(meeting) == {Target.of(acme), Target.of(ann), Target.of(other)}
    assert services.attendee_ids(meeting) == ([bob.pk], [ann.pk, other.pk])


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        ("note", {"body": ""}, "body", "This field is required."),
        ("note", {"body": "x", "duration_seconds": 60}, "duration_seconds", "do not have"),
        ("call", {"direction": "out", "duration_seconds": -1}, "duration_seconds", "greater than"),
        ("call", {"duration_seconds": 60}, "direction", "This field is required."),
        ("call", {"direction": "sideways"}, "direction", "not a valid choice"),
        ("email", {"direction": "in", "email_from": "nobody"}, "email_from", "valid email"),
        (
            "email",
            {"direction": "in", "email_from": "a@b.test", "email_to": ["ok@b.test", "nope"]},
            "email_to",
            "nope",
        ),
        ("meeting", {"subject": "No time"}, "starts_at", "This field is required."),
        (
            "meeting",
            {"starts_at": later(hours=2), "ends_at": later(hours=1)},
            "ends_at",
            "The end must be after the start.",
        ),
        ("chat", {"direction": "in", "channel": "linkedin"}, "channel", "Choose one of"),
        ("social", {"direction": "in"}, "channel", "This field is required."),
        ("visit", {"channel": "sms"}, "channel", "do not have"),
    ],
)
def test_each_kind_refuses_what_does_not_fit_with_a_field_error(
    as_alice, ann, kind, values, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        services.activity_create(actor=as_alice, kind=kind, links=[ann], values=values)

    assert message in " ".join(errors_of(excinfo)[field])
    assert not Activity.all_objects.exists()


def test_all_errors_come_in_one_report_and_nothing_is_written(as_alice, ann, bob):
    with pytest.raises(ValidationError) as excinfo:
        services.activity_create(
            actor=as_alice,
            kind="call",
            links=[ann, ("contacts.contact", 999_999), ("sales.unicorn", 1), ("x", "y")],
            values={"duration_seconds": -5, "nonsense": 1},
            attendee_users=[bob.pk],
        )

    errors = errors_of(excinfo)
    assert set(errors) >= {"links.1", "links.2", "links.3", "attendee_users", "nonsense"}
    assert not Activity.all_objects.exists()
    assert not ActivityLink.objects.exists()


def test_an_activity_needs_a_record(as_alice):
    with pytest.raises(ValidationError) as excinfo:
        services.activity_create(actor=as_alice, kind="note", links=[], values={"body": "x"})

    assert "links" in errors_of(excinfo)


def test_the_kind_and_mentions_are_not_for_values(as_alice, ann):
    with pytest.raises(ValidationError) as excinfo:
        services.activity_create(
            actor=as_alice, kind="note", links=[ann], values={"body": "x", "kind": "call"}
        )

    assert "kind" in errors_of(excinfo)


# Who may do what


def test_a_record_the_actor_cannot_see_cannot_be_linked(as_alice, ann, wes):
    with pytest.raises(ValidationError) as excinfo:
        log_note(as_alice, wes)

    assert errors_of(excinfo) == {"links.0": ["No such record, or not one you may see."]}


def test_a_role_without_the_create_grant_logs_nothing(as_alice, alice, ann):
    role = Role.objects.create(
        slug="no-activities",
        name="No activities",
        permissions={"*": {"view": "all", "create": "all"}, "activities.activity": {"view": "all"}},
    )
    alice.role = role
    alice.save()

    with pytest.raises(PermissionDenied):
        log_note(as_alice, ann)


def test_teammates_see_but_only_the_owner_changes(as_alice, as_bob, ann):
    note = log_note(as_alice, ann)

    with pytest.raises(PermissionDenied):
        services.activity_update(note, actor=as_bob, values={"body": "Mine now"})
    with pytest.raises(PermissionDenied):
        services.activity_delete(note, actor=as_bob)


def test_someone_who_cannot_see_it_gets_not_found(as_alice, as_charlie, ann):
    note = log_note(as_alice, ann)

    with pytest.raises(Http404):
        services.activity_update(note, actor=as_charlie, values={"body": "x"})


# Changes


def test_an_update_keeps_the_links_times_in_step_and_versions_it(as_alice, ann):
    call = log_call(as_alice, ann, occurred_at=ago(days=3))
    when = ago(days=1)

    call = services.activity_update(
        call, actor=as_alice, values={"occurred_at": when}, expected_version=1
    )

    assert call.version == 2
    assert list(call.links.values_list("occurred_at", flat=True)) == [when]
    with pytest.raises(VersionConflict):
        services.activity_update(call, actor=as_alice, values={"subject": "x"}, expected_version=1)


def test_replacing_links_is_audited_and_keeps_those_the_actor_cannot_see(
    as_alice, as_charlie, alice, ann, acme, wes, charlie
):
    charlie.role = Role.objects.get(slug="sales-manager")
    charlie.save()
    note = services.activity_create(
        actor=as_charlie, kind="note", links=[wes, ann], values={"body": "Both", "owner": alice.pk}
    )

    note = services.activity_update(note, actor=as_alice, links=[acme])

    assert links_of(note) == {Target.of(acme), Target.of(wes)}
    entry = AuditEntry.objects.filter(object_id=str(note.pk), action="update").get()
    assert entry.changes["links"][1] == sorted(
        [f"contacts.company:{acme.pk}", f"contacts.contact:{wes.pk}"]
    )
    assert note.version == 2


def test_the_kind_never_changes(as_alice, ann):
    note = log_note(as_alice, ann)

    with pytest.raises(ValidationError) as excinfo:
        services.activity_update(note, actor=as_alice, values={"kind": "call"})

    assert "kind" in errors_of(excinfo)


def test_deleting_moves_to_the_trash(as_alice, ann):
    note = log_note(as_alice, ann)

    services.activity_delete(note, actor=as_alice)

    assert not Activity.objects.filter(pk=note.pk).exists()
    assert Activity.all_objects.get(pk=note.pk).is_deleted


# Mentions


def test_mentions_are_stored_and_notified_after_commit(
    as_alice, ann, bob, charlie, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = log_note(as_alice, ann, "Ask @bob and @charlie. Mail alice@bob.test, @nobody.")

    assert note.mentions == sorted([bob.pk, charlie.pk])
    # Charlie (west team) may not see Alice's note: he is not told about it.
    notified = Notification.objects.filter(kind="mention")
    assert list(notified.values_list("recipient__email", "url")) == [
        ("bob@example.com", note.get_absolute_url())
    ]


def test_an_edit_notifies_only_the_newly_mentioned(
    as_alice, ann, bob, admin, django_capture_on_commit_callbacks
):
    note = log_note(as_alice, ann, "For @bob")
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_update(note, actor=as_alice, values={"body": "For @bob and @admin"})

    assert list(Notification.objects.values_list("recipient__email", flat=True)) == [
        "admin@example.com"
    ]


def test_emails_mention_only_by_id(as_alice, ann, bob):
    values = {"direction": "in", "email_from": "ann@acme.test", "body": "cc @bob"}
    email = services.activity_create(actor=as_alice, kind="email", links=[ann], values=values)

    assert email.mentions == []
    with pytest.raises(ValidationError) as excinfo:
        services.activity_create(
            actor=as_alice, kind="email", links=[ann], values=values, mentions=[bob.pk, 424242]
        )
    assert "424242" in errors_of(excinfo)["mentions"][0]


# Last contacted and next activity


def dates(record) -> tuple:
    record = type(record)._base_manager.get(pk=record.pk)
    return record.last_contacted_at, record.next_activity_at


def test_calls_and_meetings_set_the_dates_and_notes_do_not(as_alice, ann, acme):
    log_note(as_alice, ann, occurred_at=ago(hours=1))
    assert dates(ann) == (None, None)

    call = log_call(as_alice, ann, occurred_at=ago(days=2))
    start = later(days=3)
    services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[acme],
        values={"subject": "Review", "starts_at": start},
        attendee_contacts=[ann.pk],
    )
    services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[ann],
        values={"subject": "Later", "starts_at": later(days=9)},
    )

    assert dates(ann) == (call.occurred_at, start)
    assert dates(acme) == (None, start)

    services.activity_delete(call, actor=as_alice)
    assert dates(ann) == (None, start)


def test_a_meeting_that_has_begun_counts_as_contact_after_the_sweep(as_alice, ann):
    meeting = services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[ann],
        values={"subject": "Now", "starts_at": later(hours=1)},
    )
    # An hour later, as far as the database can tell.
    Activity.objects.filter(pk=meeting.pk).update(
        starts_at=ago(minutes=1), occurred_at=ago(minutes=1)
    )
    ActivityLink.objects.filter(activity=meeting).update(occurred_at=ago(minutes=1))
    Contact.objects.filter(pk=ann.pk).update(next_activity_at=ago(minutes=1))

    assert refresh_begun() == 1

    last, upcoming = dates(ann)
    assert upcoming is None
    assert last is not None


def test_other_apps_add_upcoming_dates(as_alice, ann, monkeypatch):
    from rapport.activities import engagement

    due = later(hours=5)
    monkeypatch.setattr(engagement, "_UPCOMING", {"tasks": lambda target, now: due})

    refresh_engagement(ann)

    assert dates(ann) == (None, due)


def test_a_restored_activity_counts_again(as_alice, ann):
    call = log_call(as_alice, ann, occurred_at=ago(days=1))
    services.activity_delete(call, actor=as_alice)

    record_restore(Activity.all_objects.get(pk=call.pk), actor=as_alice)
    dispatch_until_empty(worker_id="test")

    assert dates(ann)[0] == call.occurred_at


# Records merged and purged


def test_merging_contacts_moves_their_activities_to_the_winner(as_alice, ann, acme):
    twin = contacts.contact_create(actor=as_alice, values={"first_name": "Ann", "last_name": "A."})
    both = services.activity_create(
        actor=as_alice,
        kind="meeting",
        links=[acme],
        values={"subject": "Both", "starts_at": ago(days=1)},
        attendee_contacts=[ann.pk, twin.pk],
    )
    only_twin = log_call(as_alice, twin, occurred_at=ago(hours=2))

    contacts.contact_merge(ann, twin, actor=as_alice, choices={})
    dispatch_until_empty(worker_id="test")

    assert links_of(both) == {Target.of(acme), Target.of(ann)}
    assert links_of(only_twin) == {Target.of(ann)}
    assert MeetingAttendee.objects.filter(activity=both, contact=ann).count() == 1
    assert dates(ann)[0] == only_twin.occurred_at


def test_purging_a_record_drops_its_links(as_alice, as_admin, ann, acme):
    note = services.activity_create(
        actor=as_alice, kind="note", links=[ann, acme], values={"body": "x"}
    )
    contacts.company_delete(acme, actor=as_alice)

    record_purge(Company.all_objects.get(pk=acme.pk), actor=as_admin)
    dispatch_until_empty(worker_id="test")

    assert links_of(note) == {Target.of(ann)}
