"""Reading a raw RFC 822 message into what the timeline keeps of it.

One parser serves the three ways email comes in (mailbox sync, the SMTP
listener and the API). It uses the standard library's ``email`` package with
the modern policy, takes the text part (or the HTML part turned into text by
``inscriptis`` when there is no text part), the attachments, the addresses and
the threading headers. A message it cannot read raises ``MessageRejected`` with
the reason, before anything is stored.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from inscriptis import get_text

from rapport.activities.models import MAX_ADDRESSES, MAX_BODY_CHARS

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
SUBJECT_MAX_CHARS = 300
ID_MAX_CHARS = 255
TRUNCATED = "\n[…]"


class MessageRejected(Exception):
    """A message Rapport will not store, with the reason given to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: bytes


@dataclass
class ParsedEmail:
    message_id: str
    subject: str
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    sent_at: datetime.datetime
    text: str
    # The Message-IDs this one answers, oldest first (References, then In-Reply-To).
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    size: int = 0

    @property
    def in_reply_to(self) -> str:
        return self.references[-1] if self.references else ""


def max_message_bytes() -> int:
    return settings.MAIL_IN_MAX_BYTES


def oversized_reason() -> str:
    return _("The message is larger than %(size)d bytes.") % {"size": max_message_bytes()}


def _valid(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _addresses(message: EmailMessage, *headers: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of the valid addresses in ``headers``, once each."""
    values = [str(value) for header in headers for value in message.get_all(header, [])]
    seen: dict[str, str] = {}
    for name, address in getaddresses(values):
        address = address.strip().lower()
        if address and address not in seen and _valid(address):
            seen[address] = name.strip()
    return [(name, address) for address, name in seen.items()][:MAX_ADDRESSES]


def _message_ids(value: str | None) -> list[str]:
    return [found for found in MESSAGE_ID.findall(value or "") if len(found) <= ID_MAX_CHARS]


def _references(message: EmailMessage) -> list[str]:
    ids = _message_ids(message.get("References")) + _message_ids(message.get("In-Reply-To"))
    return list(dict.fromkeys(ids))


def _sent_at(message: EmailMessage) -> datetime.datetime:
    """The Date header, or now when it is missing, unreadable or in the future."""
    now = timezone.now()
    try:
        sent = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return now
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=datetime.UTC)
    return min(sent, now)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        content = part.get_payload(decode=True).decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = get_text(content)
    content = content.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(content) > MAX_BODY_CHARS:
        content = content[: MAX_BODY_CHARS - len(TRUNCATED)] + TRUNCATED
    return content


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        if part.get_content_maintype() == "multipart":
            continue
        content = part.get_payload(decode=True)
        if not content:
            continue
        name = part.get_filename() or _("attachment")
        found.append(Attachment(name=name, content_type=part.get_content_type(), content=content))
    return found


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def parse_message(raw: bytes) -> ParsedEmail:
    """The parts of ``raw`` the timeline keeps, or ``MessageRejected`` saying why not."""
    if len(raw) > max_message_bytes():
        raise MessageRejected(oversized_reason())
    if not raw.strip():
        raise MessageRejected(_("The message is empty."))
    try:
        message = message_from_bytes(raw, policy=policy.default)
        senders = _addresses(message, "From")
        if message.defects and not senders:
            raise MessageRejected(_("The message is not a readable email."))
        if not senders:
            raise MessageRejected(_("The message has no valid From address."))
        sender_name, sender = senders[0]
        message_ids = _message_ids(message.get("Message-ID"))
        return ParsedEmail(
            message_id=message_ids[0] if message_ids else "",
            subject=_one_line(str(message.get("Subject", "")), SUBJECT_MAX_CHARS),
            sender=sender,
            sender_name=_one_line(sender_name, 150),
            to=[address for _name, address in _addresses(message, "To")],
            cc=[address for _name, address in _addresses(message, "Cc")],
            sent_at=_sent_at(message),
            text=_text(message),
            references=_references(message),
            attachments=_attachments(message),
            size=len(raw),
        )
    except MessageRejected:
        raise
    except (LookupError, UnicodeError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise MessageRejected(
            _("The message is not a readable email: %(problem)s") % {"problem": error}
        ) from None
