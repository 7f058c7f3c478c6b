"""Mailbox sync against a real IMAP server (Debian's dovecot on 127.0.0.1): the login
tried before a mailbox is saved, the password stored encrypted, the inbox and sent
folders read incrementally by UID, nothing logged twice after a sync that died or
a server that renumbered its folder, failures shown on the mailbox, and the pages."""

from __future__ import annotations

import imaplib

import pytest
from django.core.exceptions import ValidationError

from rapport.activities.models import Activity
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Source
from rapport.core.secrets import decrypt
from rapport.mail import imap, mailboxes
from rapport.mail.models import InboundOutcome, Mailbox, MailboxFolder
from rapport.mail.tests.conftest import raw_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(imap_server) -> str:
    return imap_server.new_login()


def connection_values(imap_server, login: str, **values) -> dict:
    return {
        "name": "Work",
        "host": imap_server.host,
        "port": imap_server.port,
        "security": "none",
        "username": login,
        "address": "alice@example.com",
    } | values


@pytest.fixture
def mailbox(imap_server, login, as_alice) -> Mailbox:
    return mailboxes.mailbox_connect(
        actor=as_alice,
        password=imap_server.password,
        values=connection_values(imap_server, login),
    )


def test_a_mailbox_is_saved_once_its_login_works_with_the_password_encrypted(mailbox) -> None:
    saved = Mailbox.objects.get()
    assert saved.password_encrypted != "imap-secret"
    assert decrypt(saved.password_encrypted) == "imap-secret"
    entry = AuditEntry.objects.get(content_type__model="mailbox")
    assert "password_encrypted" not in entry.changes


def test_a_refused_login_saves_nothing_and_says_why(imap_server, login, as_alice) -> None:
    with pytest.raises(ValidationError) as refused:
        mailboxes.mailbox_connect(
            actor=as_alice, password="wrong", values=connection_values(imap_server, login)
        )

    assert "The server refused the login" in refused.value.messages[0]
    assert not Mailbox.objects.exists()


def test_a_missing_folder_is_refused(imap_server, login, as_alice) -> None:
    with pytest.raises(ValidationError) as refused:
        mailboxes.mailbox_connect(
            actor=as_alice,
            password=imap_server.password,
            values=connection_values(imap_server, login, sent_folder="Envoyés"),
        )

    assert refused.value.messages == ["The folder Envoyés does not exist."]


def test_the_inbox_and_sent_folder_are_logged_then_only_new_messages(
    imap_server, login, mailbox, ann
) -> None:
    imap_server.append(login, "INBOX", raw_email())
    imap_server.append(
        login,
        "Sent",
        raw_email(
            sender="alice@example.com",
            to="ann@acme.test",
            subject="Re: Renewal",
            message_id="<answer@example.com>",
            headers={"In-Reply-To": "<renewal-1@acme.test>"},
        ),
    )

    assert imap.sync_mailbox(mailbox) == 2

    emails = Activity.objects.order_by("direction")
    assert [(e.direction, e.thread_id) for e in emails] == [
        ("in", "<renewal-1@acme.test>"),
        ("out", "<renewal-1@acme.test>"),
    ]
    assert all(email.private_to_user_id == mailbox.owner_id for email in emails)
    imap_server.append(login, "INBOX", raw_email(message_id="<renewal-2@acme.test>"))
    assert imap.sync_mailbox(mailbox) == 1
    assert imap.sync_mailbox(mailbox) == 0
    assert Activity.objects.count() == 3
    mailbox.refresh_from_db()
    assert mailbox.last_synced_at is not None
    assert (mailbox.last_error, mailbox.sync_started_at) == ("", None)


def test_a_sync_that_died_resumes_after_the_last_message_kept(
    imap_server, login, mailbox, ann
) -> None:
    for number in range(3):
        imap_server.append(login, "INBOX", raw_email(message_id=f"<m{number}@acme.test>"))
    imap.sync_mailbox(mailbox)
    # As if the worker died after logging the first message: its UID alone was kept.
    MailboxFolder.objects.filter(name="INBOX").update(last_uid=1)
    Activity.objects.exclude(message_id="<m0@acme.test>").delete()

    assert imap.sync_mailbox(mailbox) == 2
    assert sorted(Activity.objects.values_list("message_id", flat=True)) == [
        "<m0@acme.test>",
        "<m1@acme.test>",
        "<m2@acme.test>",
    ]


def test_a_renumbered_folder_is_read_again_without_logging_twice(
    imap_server, login, mailbox, ann
) -> None:
    imap_server.append(login, "INBOX", raw_email())
    imap.sync_mailbox(mailbox)
    MailboxFolder.objects.filter(name="INBOX").update(uid_validity=1, last_uid=99)

    imap.sync_mailbox(mailbox)

    assert Activity.objects.count() == 1
    outcomes = list(mailbox.messages.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [InboundOutcome.LOGGED, InboundOutcome.DUPLICATE]


def test_a_mailbox_another_worker_is_syncing_is_left_alone(imap_server, login, mailbox, ann):
    imap_server.append(login, "INBOX", raw_email())
    assert imap._claim(mailbox.pk, mailbox.created_at)

    assert imap.sync_mailbox(mailbox) == 0
    assert not Activity.objects.exists()


def test_a_failing_mailbox_keeps_the_reason_and_the_others_are_synced(
    imap_server, login, mailbox, as_alice, ann
) -> None:
    broken = Mailbox.objects.create(
        owner=mailbox.owner,
        name="Old",
        host="127.0.0.1",
        port=imap_server.port,
        security="none",
        username="someone@example.com",
        address="alice@example.com",
        password_encrypted="not a token",
    )
    imap_server.append(login, "INBOX", raw_email())

    assert imap.sync_mailboxes() == 1

    broken.refresh_from_db()
    assert broken.last_error == "The stored password cannot be read; enter it again."
    assert broken.sync_started_at is None


def test_the_mailbox_pages_connect_sync_and_show_what_was_received(
    imap_server, login, alice_client, ann
) -> None:
    form = connection_values(imap_server, login) | {
        "password": imap_server.password,
        "inbox_folder": "INBOX",
        "sent_folder": "Sent",
    }
    imap_server.append(login, "INBOX", raw_email())

    response = alice_client.post("/mailboxes/new/", form, follow=True)

    assert "is connected" in response.content.decode()
    mailbox = Mailbox.objects.get()
    response = alice_client.post(f"/mailboxes/{mailbox.pk}/sync/", follow=True)
    assert "1 new message read from “Work”." in response.content.decode()
    page = alice_client.get("/mailboxes/received/").content.decode()
    assert "Logged" in page
    assert "Mailbox sync · Work" in page


def test_the_connect_form_shows_a_refused_login(imap_server, login, alice_client) -> None:
    form = connection_values(imap_server, login) | {
        "password": "wrong",
        "inbox_folder": "INBOX",
        "sent_folder": "Sent",
    }

    response = alice_client.post("/mailboxes/new/", form)

    assert response.status_code == 200
    assert "The server refused the login" in response.content.decode()
    assert not Mailbox.objects.exists()


def test_only_the_owner_and_admins_manage_a_mailbox(mailbox, bob, charlie) -> None:
    as_bob = Actor(user=bob, source=Source.UI)
    mailbox.team = bob.teams.get()
    mailbox.save()
    with pytest.raises(Exception) as refused:
        mailboxes.mailbox_sync(mailbox, actor=as_bob)
    assert refused.type.__name__ == "PermissionDenied"
    with pytest.raises(Exception) as hidden:
        mailboxes.mailbox_disconnect(mailbox, actor=Actor(user=charlie, source=Source.UI))
    assert hidden.type.__name__ == "Http404"


def test_sharing_a_mailbox_shares_the_emails_it_brought(
    imap_server, login, mailbox, as_alice, bob, ann
) -> None:
    imap_server.append(login, "INBOX", raw_email())
    imap.sync_mailbox(mailbox)
    email = Activity.objects.get()
    assert email.private_to_user_id == mailbox.owner_id

    mailboxes.mailbox_update(mailbox, actor=as_alice, values={"shared": True})

    email.refresh_from_db()
    assert (email.private_to_user, email.private_to_team) == (None, None)


def test_a_folder_named_beyond_ascii_is_read(imap_server, login, as_alice, ann) -> None:
    connection = imaplib.IMAP4(imap_server.host, imap_server.port)
    connection.login(login, imap_server.password)
    connection.create("Envoy&AOk-s")  # "Envoyés" in IMAP's modified UTF-7
    connection.logout()
    imap_server.append(login, "Envoy&AOk-s", raw_email(sender="alice@example.com"))

    mailbox = mailboxes.mailbox_connect(
        actor=as_alice,
        password=imap_server.password,
        values=connection_values(imap_server, login, sent_folder="Envoyés"),
    )

    assert imap.sync_mailbox(mailbox) == 1
