"""Sending an email to a contact: the rules refused before anything is written, the
activity and its delivery record, a real delivery over SMTP, retries with backoff
until failed, at most one delivery per email, and who may send what."""

from __future__ import annotations

import datetime
import smtplib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from rapport.accounts.models import Role
from rapport.activities.models import Activity, ActivityLink
from rapport.conftest import free_port
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import OutboxEvent, Source
from rapport.mail import delivery, services
from rapport.mail.models import DeliveryStatus, OutgoingEmail

pytestmark = pytest.mark.django_db


def outgoing(activity: Activity) -> OutgoingEmail:
    return OutgoingEmail.objects.get(pk=activity.pk)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


@pytest.fixture
def unreachable_smtp(settings):
    """An SMTP backend pointed at a port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


# A real delivery


def test_an_email_is_sent_over_smtp_and_logged_as_sent(smtp_server, settings, send, as_alice, ann):
    settings.DEFAULT_FROM_EMAIL = "Rapport <crm@rapport.test>"

    activity = send(actor=as_alice, contact=ann, cc=["Boss@Acme.test"])

    [message] = smtp_server.messages
    assert message["To"] == "ann@acme.test"
    assert message["Cc"] == "boss@acme.test"
    assert message["Subject"] == "Hello Ann"
    assert message["Message-ID"] == activity.message_id
    assert activity.message_id.startswith("<") and activity.message_id.endswith("@rapport.test>")
    assert message["From"] == "Alice <crm@rapport.test>"
    assert message["Reply-To"] == "alice@example.com"
    assert (
        message.get_content().replace("\r\n", "\n").rstrip() == "Dear Ann Archer,\n\nSee you soon."
    )
    email = outgoing(activity)
    assert email.status == DeliveryStatus.SENT
    assert email.attempts == 1 and email.sent_at is not None and email.last_error == ""
    assert OutboxEvent.objects.filter(name="email.sent", aggregate_id=str(activity.pk)).exists()


def test_the_email_is_an_activity_on_the_contact_and_company_timelines(send, as_alice, ann, acme):
    activity = send(actor=as_alice, contact=ann, to="ANN.ARCHER@home.test", template=None)

    assert activity.kind == "email" and activity.direction == "out"
    assert activity.subject == "Hello Ann"
    assert activity.body == "Dear Ann Archer,\n\nSee you soon."
    assert activity.email_from == "alice@example.com"
    assert activity.email_to == ["ann.archer@home.test"]
    assert activity.thread_id == activity.message_id
    assert activity.owner_id == as_alice.user.pk
    links = set(
        ActivityLink.objects.filter(activity=activity).values_list("object_type", "object_id")
    )
    assert links == {("contacts.contact", ann.pk), ("contacts.company", acme.pk)}
    ann.refresh_from_db()
    assert ann.last_contacted_at == activity.occurred_at


def test_the_company_is_left_out_when_the_sender_cannot_see_it(send, as_admin, alice, bob):
    """Bob (east) sees his teammate Alice's contact, but not the admin's company."""
    west_company = contacts.company_create(actor=as_admin, values={"name": "Westco"})
    contact = contacts.contact_create(
        actor=as_admin,
        values={
            "first_name": "Cy",
            "email": "cy@westco.test",
            "company": west_company,
            "owner": alice,
        },
    )

    activity = send(actor=Actor(user=bob, source=Source.UI), contact=contact)

    links = set(
        ActivityLink.objects.filter(activity=activity).values_list("object_type", "object_id")
    )
    assert links == {("contacts.contact", contact.pk)}


# Refused before anything is written


def test_a_contact_who_asked_not_to_be_emailed_is_refused(send, as_alice, ann):
    contacts.contact_update(ann, actor=as_alice, values={"do_not_email": True})

    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=ann)

    assert errors_of(excinfo)["__all__"] == ["Ann Archer asked not to be emailed."]
    assert not Activity.objects.exists() and not OutgoingEmail.objects.exists()


def test_a_contact_without_an_address_is_refused(send, as_alice):
    nobody = contacts.contact_create(actor=as_alice, values={"first_name": "Nemo"})

    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=nobody)

    assert errors_of(excinfo)["__all__"] == ["Nemo has no email address."]


def test_only_the_contacts_own_addresses_and_valid_copies_are_accepted(send, as_alice, ann):
    with pytest.raises(ValidationError) as excinfo:
        send(
            actor=as_alice,
            contact=ann,
            to="someone@else.test",
            cc=["ok@acme.test", "not an address"],
        )

    errors = errors_of(excinfo)
    assert errors["to"] == [
        "Choose one of the contact's addresses: ann@acme.test, ann.archer@home.test."
    ]
    assert errors["cc"] == ["Not valid email addresses: not an address."]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "subject", ["Hello\r\nBcc: victim@example.com", "Hello\nthere", "{{ contact.first_name }}\n"]
)
def test_a_subject_that_is_not_one_line_is_refused(send, as_alice, ann, subject):
    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=ann, subject=subject)

    assert errors_of(excinfo)["subject"] == ["The subject must be one line."]
    assert not OutgoingEmail.objects.exists()


def test_a_line_break_that_comes_from_a_merge_value_is_refused_too(send, as_alice, acme, ann):
    contacts.company_update(acme, actor=as_alice, values={"industry": "Tools\nBcc: x@y.test"})
    ann.refresh_from_db()

    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=ann, subject="News for {{ company.industry }}")

    assert errors_of(excinfo)["subject"] == ["The subject must be one line."]


def test_unknown_merge_fields_and_an_empty_text_are_refused(send, as_alice, ann):
    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=ann, subject="{{ contact.owner.password }}", body=" ")

    errors = errors_of(excinfo)
    assert errors["subject"][0].startswith("Unknown merge fields: contact.owner.password.")
    assert errors["body"] == ["This field is required."]


# Who may send


def test_a_rep_cannot_email_a_contact_they_cannot_see(send, as_alice, wes):
    with pytest.raises(Http404):
        send(actor=as_alice, contact=wes)
    assert not Activity.objects.exists()


def test_sending_needs_the_create_grant_on_activities(send, alice, ann):
    read_only = Actor(user=alice, source=Source.UI)
    alice.role = Role.objects.get(slug="read-only")
    alice.save()

    with pytest.raises(PermissionDenied):
        send(actor=read_only, contact=ann)


def test_a_template_of_someone_else_cannot_be_used(send, as_alice, ann, bob):
    template = services.template_create(
        actor=Actor(user=bob, source=Source.UI), name="Bob's", subject="Hi", body="Hi"
    )

    with pytest.raises(ValidationError) as excinfo:
        send(actor=as_alice, contact=ann, template=template)

    assert errors_of(excinfo)["template"] == ["No such template, or not one you may use."]


# Failures, retries and at most once


def test_an_unreachable_server_is_retried_with_backoff_then_failed(
    unreachable_smtp, send, as_alice, ann
):
    activity = send(actor=as_alice, contact=ann)  # the first attempt, right after commit

    email = outgoing(activity)
    assert email.status == DeliveryStatus.QUEUED
    assert email.attempts == 1
    assert "could not be reached" in email.last_error
    first_retry = email.next_attempt_at
    assert first_retry - timezone.now() > datetime.timedelta(seconds=50)
    assert delivery.deliver_due() == 0  # not due yet

    now = first_retry
    for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        assert delivery.deliver_due(now=now) == 1
        email.refresh_from_db()
        assert email.attempts == attempt
        if attempt < delivery.MAX_ATTEMPTS:
            assert email.status == DeliveryStatus.QUEUED
            assert email.next_attempt_at - now == delivery.retry_delay(attempt)
            now = email.next_attempt_at

    assert email.status == DeliveryStatus.FAILED
    assert "could not be reached" in email.last_error
    assert delivery.deliver_due(now=now + datetime.timedelta(days=1)) == 0
    assert OutboxEvent.objects.filter(name="email.failed").count() == 1


def test_the_backoff_grows_and_is_capped():
    delays = [delivery.retry_delay(attempt).total_seconds() for attempt in range(1, 8)]

    assert delays[:4] == [60, 240, 960, 3840]
    assert max(delays) == delivery.MAX_RETRY_SECONDS


def test_a_permanent_refusal_fails_at_once(smtp_server, monkeypatch, send, as_alice, ann):
    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ann@acme.test": (550, b"5.1.1 No such mailbox")})

    monkeypatch.setattr("django.core.mail.backends.smtp.EmailBackend.send_messages", refuse)

    email = outgoing(send(actor=as_alice, contact=ann))

    assert email.status == DeliveryStatus.FAILED and email.attempts == 1
    assert email.last_error == ("The mail server refused the recipients: 550 5.1.1 No such mailbox")


def test_a_temporary_refusal_is_retried(smtp_server, monkeypatch, send, as_alice, ann):
    def busy(self, messages):
        raise smtplib.SMTPDataError(451, b"Try again later")

    monkeypatch.setattr("django.core.mail.backends.smtp.EmailBackend.send_messages", busy)

    email = outgoing(send(actor=as_alice, contact=ann))

    assert email.status == DeliveryStatus.QUEUED
    assert email.last_error == "The mail server answered 451 Try again later"


def test_an_email_is_delivered_at_most_once(smtp_server, send, as_alice, ann):
    activity = send(actor=as_alice, contact=ann)

    assert delivery.email_deliver(activity.pk) is False
    assert delivery.deliver_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(smtp_server.messages) == 1


def test_a_delivery_cut_off_midway_is_reported_not_sent_again(smtp_server, as_alice, ann):
    """Written without running the after-commit delivery; then a worker claims it and dies."""
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    claimed_at = timezone.now()
    OutgoingEmail.objects.filter(pk=activity.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=claimed_at
    )

    assert delivery.deliver_due(now=claimed_at + datetime.timedelta(minutes=1)) == 0
    assert outgoing(activity).status == DeliveryStatus.SENDING
    delivery.deliver_due(now=claimed_at + delivery.LEASE + datetime.timedelta(seconds=1))

    email = outgoing(activity)
    assert email.status == DeliveryStatus.FAILED
    assert "interrupted" in email.last_error
    assert smtp_server.messages == []


def test_an_email_whose_task_was_lost_is_sent_by_the_sweep(smtp_server, as_alice, ann):
    from rapport.core import schedule

    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    assert outgoing(activity).status == DeliveryStatus.QUEUED

    schedule.run_all()

    assert outgoing(activity).status == DeliveryStatus.SENT
    assert len(smtp_server.messages) == 1


def test_an_email_deleted_before_it_went_is_not_sent(smtp_server, as_alice, ann):
    from rapport.activities.services import activity_delete

    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    activity_delete(activity, actor=as_alice)

    delivery.deliver_due()

    assert outgoing(activity).status == DeliveryStatus.FAILED
    assert smtp_server.messages == []


def test_a_failed_email_can_be_sent_again_by_its_sender(
    unreachable_smtp, settings, send, as_alice, ann, bob
):
    activity = send(actor=as_alice, contact=ann)
    OutgoingEmail.objects.filter(pk=activity.pk).update(status=DeliveryStatus.FAILED)
    email = outgoing(activity)
    with pytest.raises(PermissionDenied):
        services.email_retry(email, actor=Actor(user=bob, source=Source.UI))

    email = services.email_retry(email, actor=as_alice)

    assert email.status == DeliveryStatus.QUEUED and email.attempts == 0
    with pytest.raises(ValidationError):
        services.email_retry(email, actor=as_alice)


def test_a_sender_name_with_accents_and_quotes_reaches_the_from_header(
    smtp_server, send, as_alice, alice, ann
):
    alice.first_name, alice.last_name = 'Zoë "Z"', "O'Hara,\nJr"
    alice.save()

    send(actor=as_alice, contact=ann, subject="Grüße, {{ contact.first_name }}")

    [message] = smtp_server.messages
    assert message["From"].addresses[0].display_name == 'Zoë "Z" O\'Hara, Jr'
    assert message["From"].addresses[0].addr_spec == "rapport@localhost"
    assert message["Subject"] == "Grüße, Ann"
