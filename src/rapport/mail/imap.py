"""Mailbox sync: new messages of each connected mailbox's inbox and sent folders,
read over IMAP (the standard library's ``imaplib``) and logged by
``mail.receiving``.

A folder is read by UID from the one after the last logged. Each message is
logged and the folder's last UID moved past it in one transaction, so a sync
that dies (worker killed, server gone) resumes after the last message it kept
and never logs one twice. When the server renumbers a folder (a new
UIDVALIDITY) the folder is read again from the start; Message-IDs already on
the timeline are then recorded as duplicates, not logged again.

The worker syncs every active mailbox every ``SYNC_INTERVAL`` seconds; a
mailbox being synced is claimed by a conditional UPDATE, so two workers never
sync the same one at once, and a claim older than ``CLAIM_EXPIRY`` (a worker
that died) is taken over.
"""

from __future__ import annotations

import base64
import datetime
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.schedule import every
from rapport.core.secrets import SecretUnreadable, decrypt
from rapport.mail.models import InboundChannel, Mailbox, MailboxFolder, Security
from rapport.mail.parsing import max_message_bytes, oversized_reason
from rapport.mail.receiving import Delivery, receive_email, refuse_email

logger = logging.getLogger(__name__)

SYNC_INTERVAL = 120
CLAIM_EXPIRY = datetime.timedelta(minutes=30)
TIMEOUT_SECONDS = 30
# Messages fetched per round trip; each is still logged in its own transaction.
FETCH_BATCH = 50
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
UID = re.compile(rb"UID (\d+)")


class SyncError(Exception):
    """The mailbox could not be read; the message says why, in the user's words."""


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    try:
        if mailbox.security == Security.SSL:
            context = ssl.create_default_context()
            connection = imaplib.IMAP4_SSL(
                mailbox.host, mailbox.port, ssl_context=context, timeout=TIMEOUT_SECONDS
            )
        else:
            connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
            if mailbox.security == Security.STARTTLS:
                connection.starttls(ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as error:
        raise SyncError(_("Could not reach the server: %(error)s") % {"error": error}) from None
    try:
        connection.login(mailbox.username, decrypt(mailbox.password_encrypted))
    except SecretUnreadable:
        raise SyncError(_("The stored password cannot be read; enter it again.")) from None
    except imaplib.IMAP4.error as error:
        raise SyncError(_("The server refused the login: %(error)s") % {"error": error}) from None
    return connection


@contextmanager
def connected(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    connection = _connect(mailbox)
    try:
        yield connection
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def check_connection(mailbox: Mailbox) -> None:
    """Log in and open each folder, or raise ``SyncError`` saying what failed."""
    try:
        with connected(mailbox) as connection:
            for folder in mailbox.folders():
                _select(connection, folder)
    except (OSError, imaplib.IMAP4.error) as error:
        raise SyncError(_lost(error)) from None


def _lost(error: Exception) -> str:
    return _("The connection failed: %(error)s") % {"error": error}


def _modified_utf7(name: str) -> str:
    """A folder name as IMAP writes it (RFC 3501, 5.1.3): printable ASCII as itself
    ("&" as "&-"), any other run of characters as "&" + its UTF-16 in base64 + "-"."""
    parts: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            parts.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for character in name:
        if " " <= character <= "~":
            flush()
            parts.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return "".join(parts)


def _quoted(folder: str) -> str:
    name = _modified_utf7(folder)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select(connection: imaplib.IMAP4, folder: str) -> int:
    """Open ``folder`` read-only; its UIDVALIDITY."""
    status, _data = connection.select(_quoted(folder), readonly=True)
    if status != "OK":
        raise SyncError(_("The folder %(folder)s does not exist.") % {"folder": folder})
    validity = connection.response("UIDVALIDITY")[1]
    return int(validity[0]) if validity and validity[0] else 0


def _new_uids(connection: imaplib.IMAP4, after: int) -> list[int]:
    status, data = connection.uid("SEARCH", None, f"UID {after + 1}:*")
    if status != "OK":
        raise SyncError(_("The server refused to list the messages."))
    # "n:*" always includes the highest UID, even when it is not above ``after``.
    return sorted(uid for uid in map(int, (data[0] or b"").split()) if uid > after)


def _fetch(connection: imaplib.IMAP4, uids: list[int]) -> Iterator[tuple[int, bytes | None, int]]:
    """(uid, raw message or ``None`` when too large, size) of each of ``uids``."""
    limit = max_message_bytes()
    wanted = ",".join(map(str, uids))
    status, data = connection.uid("FETCH", wanted, "(RFC822.SIZE)")
    if status != "OK":
        raise SyncError(_("The server refused to send the messages."))
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        uid, size = UID.search(line or b""), SIZE.search(line or b"")
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    for uid in uids:
        if uid not in sizes:
            continue  # expunged since the search
        if sizes[uid] > limit:
            yield uid, None, sizes[uid]
            continue
        status, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = next((item[1] for item in data if isinstance(item, tuple)), None)
        if status != "OK" or raw is None:
            raise SyncError(_("The server refused to send a message."))
        yield uid, raw, sizes[uid]


def _folder_state(mailbox: Mailbox, folder: str, validity: int) -> MailboxFolder:
    state, _created = MailboxFolder.objects.get_or_create(mailbox=mailbox, name=folder)
    if state.uid_validity != validity:
        state.uid_validity, state.last_uid = validity, 0
        state.save(update_fields=["uid_validity", "last_uid"])
    return state


def _sync_folder(connection: imaplib.IMAP4, mailbox: Mailbox, folder: str) -> int:
    state = _folder_state(mailbox, folder, _select(connection, folder))
    delivery = Delivery(channel=InboundChannel.IMAP, user=mailbox.owner, mailbox=mailbox)
    uids = _new_uids(connection, state.last_uid)
    logged = 0
    for start in range(0, len(uids), FETCH_BATCH):
        for uid, raw, size in _fetch(connection, uids[start : start + FETCH_BATCH]):
            with transaction.atomic():
                if raw is None:
                    refuse_email(delivery, size=size, reason=oversized_reason())
                else:
                    receive_email(raw, delivery=delivery)
                state.last_uid = uid
                state.save(update_fields=["last_uid"])
            logged += 1
    return logged


def _claim(mailbox_id: int, now: datetime.datetime) -> bool:
    stale = now - CLAIM_EXPIRY
    return bool(
        Mailbox.objects.filter(pk=mailbox_id, active=True)
        .filter(Q(sync_started_at__isnull=True) | Q(sync_started_at__lt=stale))
        .update(sync_started_at=now)
    )


def sync_mailbox(mailbox: Mailbox) -> int:
    """Log the mailbox's new messages; how many were read. Raises ``SyncError`` (also
    kept as the mailbox's ``last_error``) when the server could not be read. Returns
    0 without reading when another worker is syncing it."""
    now = timezone.now()
    if not _claim(mailbox.pk, now):
        return 0
    read = 0
    try:
        with connected(mailbox) as connection:
            for folder in mailbox.folders():
                read += _sync_folder(connection, mailbox, folder)
    except (TimeoutError, SyncError, OSError, imaplib.IMAP4.error) as error:
        message = str(error) if isinstance(error, SyncError) else _lost(error)
        Mailbox.objects.filter(pk=mailbox.pk).update(sync_started_at=None, last_error=message[:500])
        mailbox.last_error = message
        logger.warning("Mailbox %s could not be synced: %s", mailbox.pk, message)
        raise SyncError(message) from None
    Mailbox.objects.filter(pk=mailbox.pk).update(
        sync_started_at=None, last_synced_at=timezone.now(), last_error=""
    )
    return read


@every(SYNC_INTERVAL, name="mail.sync_mailboxes")
def sync_mailboxes() -> int:
    """Sync every active mailbox; a failing one is reported on its page and skipped."""
    read = 0
    mailboxes = Mailbox.objects.filter(active=True).select_related("owner", "team")
    for mailbox in mailboxes.order_by("pk").iterator():
        try:
            read += sync_mailbox(mailbox)
        except SyncError:
            continue
    return read
