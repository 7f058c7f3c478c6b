"""Email in, the one service every way in shares: a message parsed (text, HTML,
attachments, threading headers), logged once on the contacts whose addresses it
carries and on their companies, privacy of a mailbox that is not shared, new
contacts for unknown senders when asked, and refusals recorded with nothing else
written."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from rapport.activities.models import Activity, ActivityLink
from rapport.attachments.models import Attachment
from rapport.contacts.models import Contact
from rapport.core.permissions import can
from rapport.mail.models import InboundChannel, InboundMessage, InboundOutcome, Mailbox
from rapport.mail.parsing import MessageRejected, parse_message
from rapport.mail.receiving import Delivery, receive_email
from rapport.mail.tests.conftest import raw_email

pytestmark = pytest.mark.django_db


def forwarded_by(user) -> Delivery:
    return Delivery(channel=InboundChannel.SMTP, user=user)


def mailbox_of(user, **values) -> Mailbox:
    values = {
        "name": "Work",
        "host": "127.0.0.1",
        "port": 143,
        "username": user.email,
        "address": user.email,
        "password_encrypted": "unused",
    } | values
    return Mailbox.objects.create(owner=user, **values)


# Parsing


def test_the_text_part_addresses_and_threading_headers_are_read() -> None:
    raw = raw_email(
        sender='"Archer, Ann" <Ann@Acme.test>',
        to="Alice <alice@example.com>, bob@example.com, not an address",
        headers={
            "Cc": "carl@acme.test",
            "In-Reply-To": "<b@x>",
            "References": "<a@x> <b@x>",
        },
        html="<p>Ignored when there is a text part</p>",
    )

    parsed = parse_message(raw)

    assert parsed.sender == "ann@acme.test"
    assert parsed.sender_name == "Archer, Ann"
    assert parsed.to == ["alice@example.com", "bob@example.com"]
    assert parsed.cc == ["carl@acme.test"]
    assert parsed.references == ["<a@x>", "<b@x>"]
    assert parsed.in_reply_to == "<b@x>"
    assert parsed.text == "Can we talk about the renewal?"
    assert parsed.sent_at.isoformat() == "2026-11-03T09:30:00+00:00"


def test_an_html_only_message_becomes_text_without_markup() -> None:
    message = raw_email(body="TEXT-PART")
    html_only = message.replace(b"Content-Type: text/plain", b"Content-Type: text/html").replace(
        b"TEXT-PART", b"<p>Hello <b>Alice</b></p><script>alert(1)</script>"
    )

    text = parse_message(html_only).text

    assert "Hello Alice" in text
    assert "<" not in text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "The message is empty."),
        (b"Subject: no sender\r\n\r\nbody", "The message has no valid From address."),
        (b"From: not-an-address\r\n\r\nbody", "The message has no valid From address."),
    ],
)
def test_unreadable_messages_are_rejected_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MessageRejected) as rejected:
        parse_message(raw)
    assert rejected.value.reason == reason


def test_a_message_over_the_size_limit_is_rejected(settings) -> None:
    settings.MAIL_IN_MAX_BYTES = 2048
    with pytest.raises(MessageRejected) as rejected:
        parse_message(raw_email(body="x" * 4000))
    assert rejected.value.reason == "The message is larger than 2048 bytes."


# Logging


def test_an_inbound_email_is_logged_on_the_matching_contact_and_company(alice, ann, acme) -> None:
    received = receive_email(raw_email(), delivery=forwarded_by(alice))

    assert received.outcome == InboundOutcome.LOGGED
    email = received.activity
    assert (email.kind, email.direction, email.owner, email.email_from) == (
        "email",
        "in",
        alice,
        "ann@acme.test",
    )
    assert (email.subject, email.body) == ("Renewal", "Can we talk about the renewal?")
    assert (email.message_id, email.thread_id) == ("<renewal-1@acme.test>",) * 2
    linked = set(ActivityLink.objects.values_list("object_type", "object_id"))
    assert linked == {("contacts.contact", ann.pk), ("contacts.company", acme.pk)}
    ann.refresh_from_db()
    assert ann.last_contacted_at == email.occurred_at


def test_an_email_a_colleague_sent_is_outbound_and_matches_the_recipients(alice, ann) -> None:
    raw = raw_email(sender="alice@example.com", to="Ann <ann.archer@home.test>")

    email = receive_email(raw, delivery=forwarded_by(alice)).activity

    assert email.direction == "out"
    assert email.email_to == ["ann.archer@home.test"]
    assert ActivityLink.objects.filter(object_id=ann.pk).exists()


def test_the_same_message_twice_is_logged_once(alice, ann) -> None:
    first = receive_email(raw_email(), delivery=forwarded_by(alice))
    again = receive_email(raw_email(), delivery=forwarded_by(alice))

    assert (first.outcome, again.outcome) == (InboundOutcome.LOGGED, InboundOutcome.DUPLICATE)
    assert Activity.objects.count() == 1


def test_a_message_without_message_id_is_known_by_its_bytes(alice, ann) -> None:
    raw = raw_email(message_id=None)

    outcomes = [receive_email(raw, delivery=forwarded_by(alice)).outcome for _ in range(2)]

    assert outcomes == [InboundOutcome.LOGGED, InboundOutcome.DUPLICATE]
    assert Activity.objects.get().message_id.endswith("@rapport.invalid>")


def test_an_answer_joins_the_thread_of_the_message_it_answers(alice, ann) -> None:
    receive_email(raw_email(), delivery=forwarded_by(alice))
    answer = raw_email(
        sender="alice@example.com",
        to="ann@acme.test",
        subject="Re: Renewal",
        message_id="<answer@example.com>",
        headers={"In-Reply-To": "<renewal-1@acme.test>", "References": "<renewal-1@acme.test>"},
    )

    email = receive_email(answer, delivery=forwarded_by(alice)).activity

    assert email.thread_id == "<renewal-1@acme.test>"


def test_a_message_matching_no_contact_is_recorded_but_not_logged(alice) -> None:
    received = receive_email(raw_email(sender="stranger@else.test"), delivery=forwarded_by(alice))

    assert received.outcome == InboundOutcome.UNMATCHED
    assert not Activity.objects.exists()
    assert not Contact.objects.exists()


def test_contacts_the_receiver_cannot_see_are_not_matched(alice, wes) -> None:
    received = receive_email(raw_email(sender="wes@west.test"), delivery=forwarded_by(alice))

    assert received.outcome == InboundOutcome.UNMATCHED


def test_an_unknown_sender_becomes_a_contact_when_the_mailbox_says_so(alice) -> None:
    mailbox = mailbox_of(alice, create_contacts=True)
    delivery = Delivery(channel=InboundChannel.IMAP, user=alice, mailbox=mailbox)

    received = receive_email(raw_email(sender="Nina Novak <nina@new.test>"), delivery=delivery)

    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.email, contact.owner) == (
        "Nina",
        "Novak",
        "nina@new.test",
        alice,
    )
    assert received.activity.links.get().object_id == contact.pk


def test_emails_from_a_private_mailbox_are_seen_by_its_owner_alone(alice, bob, admin, ann) -> None:
    delivery = Delivery(channel=InboundChannel.IMAP, user=alice, mailbox=mailbox_of(alice))

    email = receive_email(raw_email(), delivery=delivery).activity

    assert email.private_to_user == alice
    assert can(alice, "view", email)
    assert not can(bob, "view", email)
    assert not can(admin, "view", email)
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(email.get_absolute_url()).status_code == 404
    assert bob_client.get(f"/api/v1/activities/{email.pk}").status_code == 404
    timeline = bob_client.get(f"/api/v1/activities?object_type=contacts.contact&object_id={ann.pk}")
    assert timeline.json()["items"] == []


def test_emails_from_a_team_mailbox_are_seen_by_the_team(alice, bob, charlie, east, ann) -> None:
    mailbox = mailbox_of(alice, team=east)
    delivery = Delivery(channel=InboundChannel.IMAP, user=alice, mailbox=mailbox)

    email = receive_email(raw_email(), delivery=delivery).activity

    assert (email.private_to_team, email.team) == (east, east)
    assert can(bob, "view", email)
    assert not can(charlie, "view", email)


def test_attachments_are_stored_on_the_email_and_refused_ones_named(alice, ann, settings) -> None:
    settings.ATTACHMENT_TYPES = ["application/pdf", "text/plain"]
    raw = raw_email(
        attachments=[
            ("offer.pdf", "application/pdf", b"%PDF-1.4 offer"),
            ("tool.exe", "application/octet-stream", b"MZ\x90\x00binary"),
        ]
    )

    received = receive_email(raw, delivery=forwarded_by(alice))

    stored = Attachment.objects.get()
    assert (stored.name, stored.object_type, stored.object_id) == (
        "offer.pdf",
        "activities.activity",
        str(received.activity_id),
    )
    with default_storage.open(stored.versions.get().file.name) as file:
        assert file.read() == b"%PDF-1.4 offer"
    assert received.reason.startswith("Attachments left out: tool.exe:")


def test_a_rejected_message_is_recorded_and_nothing_else_is_written(alice, ann) -> None:
    received = receive_email(b"Subject: no sender\r\n\r\nbody", delivery=forwarded_by(alice))

    assert (received.outcome, received.reason) == (
        InboundOutcome.REJECTED,
        "The message has no valid From address.",
    )
    assert not Activity.objects.exists()
    assert InboundMessage.objects.get() == received


def test_a_logged_email_keeps_what_was_exchanged(alice, alice_client, ann, acme) -> None:
    email = receive_email(raw_email(), delivery=forwarded_by(alice)).activity

    rewrite = alice_client.patch(
        f"/api/v1/activities/{email.pk}",
        {"subject": "Something else", "body": "Other words"},
        content_type="application/json",
    )
    relink = alice_client.patch(
        f"/api/v1/activities/{email.pk}",
        {"subject": "Renewal", "links": [{"object_type": "contacts.contact", "object_id": ann.pk}]},
        content_type="application/json",
    )

    assert rewrite.status_code == 422
    assert {error["field"] for error in rewrite.json()["errors"]} == {"subject", "body"}
    assert relink.status_code == 200
    email.refresh_from_db()
    assert (email.subject, email.links.count()) == ("Renewal", 1)
