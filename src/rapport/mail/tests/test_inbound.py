"""The two other ways in: ``rapport mail-in``'s SMTP listener (a real SMTP session
from smtplib) and ``POST /api/v1/inbound-email``; and answering a logged email from
Rapport, which keeps its thread down to the headers the mail server receives."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.accounts.models import TokenScope
from rapport.activities.models import Activity
from rapport.conftest import free_port
from rapport.core.tests.test_api import token_headers
from rapport.mail.listener import start_listener
from rapport.mail.models import InboundMessage, InboundOutcome
from rapport.mail.receiving import Delivery, receive_email
from rapport.mail.tests.conftest import raw_email

CRM = "crm@example.com"


@pytest.fixture
def listener():
    port = free_port()
    controller = start_listener("127.0.0.1", port, [CRM])
    try:
        yield port
    finally:
        controller.stop()


def smtp_send(port: int, sender: str, recipients: list[str], raw: bytes) -> dict:
    with smtplib.SMTP("127.0.0.1", port) as client:
        return client.sendmail(sender, recipients, raw)


# The SMTP listener

listener_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@listener_db
def test_mail_bcc_to_the_crm_by_a_colleague_is_logged(listener, alice, ann) -> None:
    raw = raw_email(sender="alice@example.com", to="ann@acme.test")

    smtp_send(listener, "alice@example.com", [CRM], raw)

    email = Activity.objects.get()
    assert (email.direction, email.owner, email.private_to_user) == ("out", alice, None)
    assert InboundMessage.objects.get().channel == "smtp"


@listener_db
def test_mail_from_someone_who_is_not_a_user_is_refused(listener, ann) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp_send(listener, "ann@acme.test", [CRM], raw_email())

    assert refused.value.smtp_code == 550
    assert not Activity.objects.exists()


@listener_db
def test_mail_for_another_address_is_refused(listener, alice) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp_send(listener, "alice@example.com", ["someone@example.com"], raw_email())

    assert refused.value.recipients["someone@example.com"][0] == 550


@listener_db
def test_an_unreadable_message_is_refused_with_the_reason(listener, alice) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp_send(listener, "alice@example.com", [CRM], b"Subject: no sender\r\n\r\nbody\r\n")

    assert refused.value.smtp_code == 554
    assert refused.value.smtp_error == b"5.6.0 The message has no valid From address."
    assert InboundMessage.objects.get().outcome == InboundOutcome.REJECTED


@pytest.mark.django_db
def test_mail_in_needs_an_address_to_receive_for(settings) -> None:
    settings.MAIL_IN_ADDRESSES = []
    with pytest.raises(CommandError, match="RAPPORT_MAIL_IN_ADDRESSES"):
        call_command("mail-in")


@listener_db
def test_an_email_forwarded_inline_to_the_crm_is_logged_as_the_original(
    listener, alice, ann, settings
) -> None:
    settings.MAIL_IN_ADDRESSES = [CRM]
    forward = raw_email(
        sender="Alice <alice@example.com>",
        to=CRM,
        subject="Fwd: Renewal",
        message_id="<fwd-1@example.com>",
        body=(
            "FYI, logging this one.\n\n"
            "---------- Forwarded message ---------\n"
            "From: Ann Archer <ann@acme.test>\n"
            "Date: Mon, 2 Nov 2026 16:05:00 +0100\n"
            "Subject: Renewal terms\n"
            "To: Alice <alice@example.com>\n"
            "\n"
            "Could you send the new terms before Friday?\n"
        ),
    )

    smtp_send(listener, "alice@example.com", [CRM], forward)

    email = Activity.objects.get()
    assert (email.subject, email.email_from, email.direction) == (
        "Renewal terms",
        "ann@acme.test",
        "in",
    )
    assert email.body == "Could you send the new terms before Friday?"
    assert email.email_to == ["alice@example.com"]
    assert email.occurred_at.isoformat() == "2026-11-02T15:05:00+00:00"
    assert sorted(email.links.values_list("object_type", "object_id")) == [
        ("contacts.company", ann.company_id),
        ("contacts.contact", ann.pk),
    ]


@pytest.mark.django_db
def test_an_email_forwarded_as_an_attachment_is_logged_as_the_original(
    alice_client, ann, settings
) -> None:
    settings.MAIL_IN_ADDRESSES = [CRM]
    original = raw_email(subject="Renewal", body="Can we talk about the renewal?")
    forward = EmailMessage()
    forward["From"] = "alice@example.com"
    forward["To"] = CRM
    forward["Subject"] = "Fwd: Renewal"
    forward.set_content("See below.")
    forward.add_attachment(message_from_bytes(original, policy=policy.default))

    response = post_raw(alice_client, forward.as_bytes())

    assert response.json()["outcome"] == "logged"
    email = Activity.objects.get()
    assert (email.subject, email.email_from, email.message_id) == (
        "Renewal",
        "ann@acme.test",
        "<renewal-1@acme.test>",
    )
    # Forwarding the same original again logs it once.
    assert post_raw(alice_client, forward.as_bytes()).json()["outcome"] == "duplicate"


@pytest.mark.parametrize(
    "quoted",
    [
        "________________________________\nFrom: Ann Archer <ann@acme.test>\n"
        "Sent: Monday, November 2, 2026 4:05 PM\nTo: Alice\nSubject: Renewal terms\n\n",
        "Début du message réexpédié :\n\nDe : Ann Archer <ann@acme.test>\n"
        "Objet : Renewal terms\nDate : 2 novembre 2026 à 16:05\nÀ : alice@example.com\n\n",
        "-------- Weitergeleitete Nachricht --------\nBetreff: Renewal terms\n"
        "Datum: Mon, 2 Nov 2026 16:05:00 +0100\nVon: ann@acme.test\nAn: alice@example.com\n\n",
    ],
    ids=["outlook", "apple-mail-fr", "thunderbird-de"],
)
@pytest.mark.django_db
def test_inline_forwards_of_common_mail_programs_are_read(
    alice_client, ann, settings, quoted
) -> None:
    settings.MAIL_IN_ADDRESSES = [CRM]
    forward = raw_email(
        sender="alice@example.com", to=CRM, body=f"{quoted}Could you send the new terms?\n"
    )

    assert post_raw(alice_client, forward).json()["outcome"] == "logged"
    email = Activity.objects.get()
    assert (email.subject, email.email_from, email.body) == (
        "Renewal terms",
        "ann@acme.test",
        "Could you send the new terms?",
    )


@pytest.mark.django_db
def test_a_forward_of_nothing_readable_is_kept_as_it_is(alice_client, ann, settings) -> None:
    settings.MAIL_IN_ADDRESSES = [CRM]
    note = raw_email(sender="alice@example.com", to=CRM, body="Remember to call Ann.")

    response = post_raw(alice_client, note)

    assert (response.status_code, response.json()["outcome"]) == (202, "unmatched")


# The API


def post_raw(client, raw: bytes, **headers):
    return client.post("/api/v1/inbound-email", data=raw, content_type="message/rfc822", **headers)


@pytest.mark.django_db
def test_the_api_logs_a_message_once(alice_client, ann) -> None:
    response = post_raw(alice_client, raw_email())

    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "logged"
    assert response["Location"] == f"/api/v1/activities/{body['activity']}"
    again = post_raw(alice_client, raw_email())
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")


@pytest.mark.django_db
def test_the_api_accepts_a_message_matching_no_contact(alice_client) -> None:
    response = post_raw(alice_client, raw_email(sender="nobody@else.test"))

    assert (response.status_code, response.json()["outcome"]) == (202, "unmatched")


@pytest.mark.django_db
def test_the_api_refuses_malformed_and_oversized_messages_with_the_reason(
    alice_client, settings
) -> None:
    malformed = post_raw(alice_client, b"Subject: no sender\r\n\r\nbody")
    assert malformed.status_code == 422
    assert malformed["Content-Type"] == "application/problem+json"
    assert malformed.json()["detail"] == "The message has no valid From address."

    settings.MAIL_IN_MAX_BYTES = 2048
    oversized = post_raw(alice_client, raw_email(body="x" * 5000))
    assert oversized.status_code == 413
    assert oversized.json()["title"] == "The message is larger than 2048 bytes."
    outcomes = list(InboundMessage.objects.values_list("outcome", flat=True))
    assert outcomes == [InboundOutcome.REJECTED] * 2
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_the_api_takes_only_rfc822_and_a_known_caller(alice_client, client, alice) -> None:
    wrong_type = alice_client.post(
        "/api/v1/inbound-email", data=raw_email(), content_type="text/plain"
    )
    assert wrong_type.status_code == 415
    assert post_raw(client, raw_email()).status_code == 401
    authorised = post_raw(client, raw_email(), headers=token_headers(alice, TokenScope.READ_WRITE))
    assert authorised.status_code == 202


# Replies


@pytest.mark.django_db
def test_a_reply_from_the_compose_page_keeps_the_thread(
    alice, alice_client, ann, smtp_server, django_capture_on_commit_callbacks
) -> None:
    logged = receive_email(
        raw_email(headers={"References": "<first@acme.test>"}),
        delivery=Delivery(channel="api", user=alice),
    ).activity

    response = alice_client.get(f"/emails/{logged.pk}/reply/", follow=True)
    page = response.content.decode()
    assert 'value="Re: Renewal"' in page
    assert 'value="ann@acme.test" selected' in page
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            f"/contacts/{ann.pk}/email/",
            {
                "to": "ann@acme.test",
                "subject": "Re: Renewal",
                "body": "Yes, Thursday works.",
                "replying_to": logged.pk,
                "action": "send",
            },
        )

    reply = Activity.objects.exclude(pk=logged.pk).get()
    assert reply.thread_id == logged.thread_id == "<first@acme.test>"
    assert reply.body.startswith("Yes, Thursday works.\n\nOn ")
    assert "> Can we talk about the renewal?" in reply.body
    sent = smtp_server.messages[0]
    assert sent["In-Reply-To"] == "<renewal-1@acme.test>"
    assert sent["References"] == "<first@acme.test> <renewal-1@acme.test>"


@pytest.mark.django_db
def test_the_api_replies_only_to_an_email_the_caller_may_see(
    alice, alice_client, ann, charlie
) -> None:
    private = receive_email(raw_email(), delivery=Delivery(channel="api", user=alice)).activity
    Activity.objects.filter(pk=private.pk).update(private_to_user=charlie)

    response = alice_client.post(
        f"/api/v1/contacts/{ann.pk}/emails",
        {"subject": "Re: Renewal", "body": "Yes.", "replying_to": private.pk},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "replying_to", "message": "No such email, or not one you may see."}
    ]
