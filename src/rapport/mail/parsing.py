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
# The line a mail program writes above the original of a message forwarded inline
# (Gmail, Outlook, Apple Mail, Thunderbird; in English, French and German).
FORWARD_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|original message|message transf[ée]r[ée]|"
    r"message d'origine|weitergeleitete nachricht|urspr[üu]ngliche nachricht)\s*-{2,}|"
    r"begin forwarded message:|d[ée]but du message r[ée]exp[ée]di[ée]\s*:|"
    r"anfang der weitergeleiteten nachricht:|_{10,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
FORWARD_HEADER = re.compile(r"^[ \t>*]*([^\W\d_]+)[ \t]*:\**[ \t]*(.*)$")
# The names of the header lines of an inline forward, by what they hold.
FORWARD_HEADER_NAMES = {
    "from": "from",
    "de": "from",
    "von": "from",
    "to": "to",
    "à": "to",
    "a": "to",
    "an": "to",
    "cc": "cc",
    "date": "date",
    "sent": "date",
    "envoyé": "date",
    "gesendet": "date",
    "datum": "date",
    "subject": "subject",
    "objet": "subject",
    "betreff": "subject",
}
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


def _attached_original(message: EmailMessage) -> bytes | None:
    """The bytes of the one message attached to ``message`` (a forward as attachment)."""
    attached = [part for part in message.walk() if part.get_content_type() == "message/rfc822"]
    if len(attached) != 1:
        return None
    inner = attached[0].get_content()
    return inner.as_bytes() if isinstance(inner, EmailMessage) else None


def _forward_headers(lines: list[str]) -> tuple[dict[str, str], int]:
    """The header lines at the top of an inline forward's original, by what they hold,
    and the number of lines they take."""
    headers: dict[str, str] = {}
    taken = 0
    for line in lines:
        if not line.strip():
            if headers:
                break
            taken += 1
            continue
        found = FORWARD_HEADER.match(line)
        name = FORWARD_HEADER_NAMES.get(found.group(1).lower()) if found else None
        if name is None:
            break
        headers.setdefault(name, found.group(2).strip())
        taken += 1
    return headers, taken


def _forward_date(text: str, fallback: datetime.datetime) -> datetime.datetime:
    """The date of an inline forward's original when it is written as in a Date header;
    else (mail programs write it many ways, "Mon, Nov 3, 2026 at 10:00 AM") the forward's."""
    try:
        sent = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return fallback
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=datetime.UTC)
    return min(sent, fallback)


def _inline_original(forward: ParsedEmail) -> ParsedEmail | None:
    """The original of a message forwarded inline, read from the forward's text."""
    marker = FORWARD_MARKER.search(forward.text)
    if marker is None:
        return None
    lines = forward.text[marker.end() :].lstrip("\n").split("\n")
    headers, taken = _forward_headers(lines)
    senders = [(name, address.lower()) for name, address in getaddresses([headers.get("from", "")])]
    senders = [(name, address) for name, address in senders if _valid(address)]
    if not senders:
        return None

    def addresses(name: str) -> list[str]:
        found = getaddresses([headers.get(name, "")])
        return [address.lower() for _name, address in found if _valid(address.lower())]

    return ParsedEmail(
        message_id="",
        subject=_one_line(headers.get("subject", forward.subject), SUBJECT_MAX_CHARS),
        sender=senders[0][1],
        sender_name=_one_line(senders[0][0], 150),
        to=addresses("to")[:MAX_ADDRESSES],
        cc=addresses("cc")[:MAX_ADDRESSES],
        sent_at=_forward_date(headers.get("date", ""), forward.sent_at),
        text="\n".join(lines[taken:]).strip(),
        attachments=forward.attachments,
        size=forward.size,
    )


def forwarded_original(raw: bytes, forward: ParsedEmail) -> ParsedEmail | None:
    """The message someone forwarded in ``raw`` (parsed as ``forward``), attached or
    inline, or ``None`` when ``raw`` forwards nothing Rapport can read."""
    try:
        attached = _attached_original(message_from_bytes(raw, policy=policy.default))
        if attached is not None:
            original = parse_message(attached)
            original.size = forward.size
            return original
        return _inline_original(forward)
    except MessageRejected:
        return None
    except (LookupError, UnicodeError, ValueError, TypeError, AttributeError, IndexError):
        return None
