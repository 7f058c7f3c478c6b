"""Email in: one service for every way a message reaches Rapport.

Rules:
- A message is parsed by ``mail.parsing``; one that cannot be read, is too large
  or has no sender is rejected with the reason and nothing but the rejection is
  kept.
- It is logged once: a message whose Message-ID is already on a timeline the same
  people see is recorded as a duplicate (a message without a Message-ID is known
  by a hash of its bytes).
- It is an outbound email when a colleague (a user of Rapport, or the mailbox's
  own address) sent it, an inbound one otherwise. It is logged on the contacts
  among its addresses, other than colleagues', that the receiving user may see,
  and on their companies. When no contact matches, an inbound message's sender
  becomes a new contact if the mailbox (or the ``RAPPORT_MAIL_IN_CREATE_CONTACTS``
  setting) says so; otherwise the message is recorded as unmatched.
- Its thread is that of the first logged message it answers (References,
  In-Reply-To), else the first Message-ID it references, else its own.
- From a mailbox that is not shared, the email is private to the mailbox's owner
  (or team). Its attachments are stored on the email through ``attachments``;
  one refused (type, size) is left out and named in the record of the message.

Everything one message writes is one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from rapport.accounts.models import Team, User
from rapport.activities.links import Target, visible_records
from rapport.activities.models import Activity, ActivityKind, Direction
from rapport.activities.services import activity_create
from rapport.attachments.services import attachment_upload
from rapport.contacts.models import Contact
from rapport.contacts.services import contact_create
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.core.permissions import scope
from rapport.mail.models import InboundChannel, InboundMessage, InboundOutcome, Mailbox
from rapport.mail.parsing import MessageRejected, ParsedEmail, forwarded_original, parse_message

logger = logging.getLogger(__name__)
REASON_MAX_CHARS = 500


@dataclass(frozen=True)
class Delivery:
    """Who a message reached Rapport for, and how."""

    channel: str
    user: User
    mailbox: Mailbox | None = None

    @property
    def create_contacts(self) -> bool:
        if self.mailbox is not None:
            return self.mailbox.create_contacts
        return settings.MAIL_IN_CREATE_CONTACTS

    @property
    def private_to(self) -> tuple[User | None, Team | None]:
        """The user, or the team, alone allowed to see what this delivery logs."""
        if self.mailbox is None or self.mailbox.shared:
            return None, None
        if self.mailbox.team_id is not None:
            return None, self.mailbox.team
        return self.mailbox.owner, None

    @property
    def forwards_to_crm(self) -> bool:
        """Whether the message was sent to Rapport itself, so that what it forwards is
        what to log (a mailbox's messages are logged as they are)."""
        return self.channel in (InboundChannel.SMTP, InboundChannel.API)

    def own_addresses(self) -> set[str]:
        addresses = {self.user.email.lower()}
        if self.mailbox is not None:
            addresses |= {self.mailbox.address.lower(), self.mailbox.username.lower()}
        if self.forwards_to_crm:
            addresses |= set(settings.MAIL_IN_ADDRESSES)
        return addresses


def _messages(error: ValidationError) -> str:
    return " ".join(message for messages in error.message_dict.values() for message in messages)


def _record(
    delivery: Delivery,
    outcome: str,
    *,
    size: int,
    message_id: str = "",
    reason: str = "",
    activity: Activity | None = None,
) -> InboundMessage:
    return InboundMessage.objects.create(
        channel=delivery.channel,
        mailbox=delivery.mailbox,
        user=delivery.user,
        message_id=message_id[:255],
        size=size,
        outcome=outcome,
        reason=reason[:REASON_MAX_CHARS],
        activity=activity,
    )


def _colleague_addresses(addresses: Iterable[str]) -> set[str]:
    addresses = set(addresses)
    found = User.objects.filter(email__in=addresses).values_list("email", flat=True)
    return {address.lower() for address in found}


def _already_logged(parsed: ParsedEmail, delivery: Delivery) -> bool:
    private_user, private_team = delivery.private_to
    return Activity.all_objects.filter(
        kind=ActivityKind.EMAIL,
        message_id=parsed.message_id,
        private_to_user=private_user,
        private_to_team=private_team,
    ).exists()


def _matching_contacts(user: User, addresses: list[str]) -> list[Contact]:
    if not addresses:
        return []
    matching = Contact.objects.filter(Q(email__in=addresses) | Q(emails__email__in=addresses))
    return list(scope(matching, user).distinct().order_by("pk"))


def _new_contact(delivery: Delivery, parsed: ParsedEmail) -> Contact | None:
    """The unknown sender as a contact, or ``None`` when that is not allowed or fails."""
    first, _space, last = parsed.sender_name.partition(" ")
    values = {"first_name": first or parsed.sender.partition("@")[0], "last_name": last}
    try:
        return contact_create(
            actor=Actor(user=delivery.user, source=Source.EMAIL),
            values=values,
            emails=[{"email": parsed.sender, "is_primary": True}],
        )
    except (PermissionDenied, ValidationError):
        return None


def _thread_id(parsed: ParsedEmail) -> str:
    if not parsed.references:
        return parsed.message_id
    known = (
        Activity.all_objects.filter(kind=ActivityKind.EMAIL, message_id__in=parsed.references)
        .exclude(thread_id="")
        .order_by("occurred_at", "pk")
        .values_list("thread_id", flat=True)
        .first()
    )
    return known or parsed.references[0]


def _links(user: User, contacts: list[Contact]) -> list[Target]:
    targets = [Target.of(contact) for contact in contacts]
    companies = {Target("contacts.company", c.company_id) for c in contacts if c.company_id}
    return targets + sorted(visible_records(user, companies), key=lambda t: t.object_id)


def _store_attachments(delivery: Delivery, activity: Activity, parsed: ParsedEmail) -> list[str]:
    """Attach the message's files to ``activity``; the reasons for those refused."""
    refused = []
    actor = Actor(user=delivery.user, source=Source.EMAIL)
    for attachment in parsed.attachments:
        file = ContentFile(attachment.content, name=attachment.name)
        try:
            attachment_upload(actor=actor, record=activity, file=file, name=attachment.name)
        except ValidationError as error:
            refused.append(f"{attachment.name}: {_messages(error)}")
    return refused


def _log(delivery: Delivery, parsed: ParsedEmail, contacts: list[Contact]) -> Activity:
    sender_is_colleague = parsed.sender in delivery.own_addresses() or bool(
        _colleague_addresses([parsed.sender])
    )
    values = {
        "subject": parsed.subject,
        "body": parsed.text,
        "direction": Direction.OUTBOUND if sender_is_colleague else Direction.INBOUND,
        "email_from": parsed.sender,
        "email_to": parsed.to,
        "email_cc": parsed.cc,
        "message_id": parsed.message_id,
        "thread_id": _thread_id(parsed),
        "occurred_at": parsed.sent_at,
        "owner": delivery.user,
    }
    if delivery.mailbox is not None and delivery.mailbox.team_id is not None:
        values["team"] = delivery.mailbox.team
    private_user, private_team = delivery.private_to
    return activity_create(
        actor=Actor(user=delivery.user, source=Source.EMAIL),
        kind=ActivityKind.EMAIL,
        links=_links(delivery.user, contacts),
        values=values,
        private_to_user=private_user,
        private_to_team=private_team,
    )


def _parties(delivery: Delivery, parsed: ParsedEmail) -> list[str]:
    """The addresses a message was exchanged with: all of them but colleagues'."""
    addresses = list(dict.fromkeys([parsed.sender, *parsed.to, *parsed.cc]))
    colleagues = delivery.own_addresses() | _colleague_addresses(addresses)
    return [address for address in addresses if address not in colleagues]


def _unpacked(raw: bytes, delivery: Delivery, parsed: ParsedEmail) -> ParsedEmail:
    """What a colleague forwarded to the CRM, when ``parsed`` is such a forward: it was
    exchanged with no one else, so the original is the message to log."""
    if not delivery.forwards_to_crm or _parties(delivery, parsed):
        return parsed
    return forwarded_original(raw, parsed) or parsed


def _receive(raw: bytes, delivery: Delivery) -> InboundMessage:
    parsed = _unpacked(raw, delivery, parse_message(raw))
    if not parsed.message_id:
        parsed.message_id = f"<{hashlib.sha256(raw).hexdigest()}@rapport.invalid>"
    size, message_id = parsed.size, parsed.message_id
    if _already_logged(parsed, delivery):
        return _record(delivery, InboundOutcome.DUPLICATE, size=size, message_id=message_id)
    parties = _parties(delivery, parsed)
    contacts = _matching_contacts(delivery.user, parties)
    inbound = parsed.sender in parties
    if not contacts and inbound and delivery.create_contacts:
        contacts = [contact for contact in [_new_contact(delivery, parsed)] if contact]
    if not contacts:
        reason = _("No contact you can see has one of its addresses.")
        return _record(
            delivery, InboundOutcome.UNMATCHED, size=size, message_id=message_id, reason=reason
        )
    activity = _log(delivery, parsed, contacts)
    refused = _store_attachments(delivery, activity, parsed)
    reason = _("Attachments left out: %(list)s") % {"list": "; ".join(refused)} if refused else ""
    return _record(
        delivery,
        InboundOutcome.LOGGED,
        size=size,
        message_id=message_id,
        reason=reason,
        activity=activity,
    )


def refuse_email(delivery: Delivery, *, size: int, reason: str) -> InboundMessage:
    """Record that a message was refused, unread (e.g. too large to fetch)."""
    logger.info("Email refused (%s, %d bytes): %s", delivery.channel, size, reason)
    return _record(delivery, InboundOutcome.REJECTED, size=size, reason=reason)


def receive_email(raw: bytes, *, delivery: Delivery) -> InboundMessage:
    """Parse ``raw`` and log it on the timelines of the contacts it was exchanged with;
    the record of what became of it, rejected messages included."""
    try:
        with transaction.atomic():
            return _receive(raw, delivery)
    except MessageRejected as rejected:
        return refuse_email(delivery, size=len(raw), reason=rejected.reason)
    except ValidationError as error:
        # A message the timeline cannot hold (e.g. an address it refuses).
        return refuse_email(delivery, size=len(raw), reason=_messages(error))
