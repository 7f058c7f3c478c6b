"""``rapport mail-in``'s SMTP listener: mail sent or forwarded to the CRM's own
addresses (BCC or forward-to-CRM) is logged by ``mail.receiving``.

It answers only for the addresses it is given (``RAPPORT_MAIL_IN_ADDRESSES``),
and takes a message only from a colleague: the envelope sender, or else the From
address, must be an active user's, who then owns the logged email. It is meant
to sit behind the company's mail server (which authenticates senders), not to
face the internet. A message refused by ``mail.receiving`` is answered with a 5xx
and the reason; the sending server then bounces it to the colleague.
"""

from __future__ import annotations

import logging
from email import message_from_bytes, policy
from email.utils import parseaddr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from rapport.accounts.models import User
from rapport.mail.models import InboundChannel, InboundOutcome
from rapport.mail.parsing import max_message_bytes
from rapport.mail.receiving import Delivery, receive_email

logger = logging.getLogger(__name__)

ANSWERS = {
    InboundOutcome.LOGGED: "250 2.0.0 Logged on the timeline",
    InboundOutcome.DUPLICATE: "250 2.0.0 Already logged",
    InboundOutcome.UNMATCHED: "250 2.0.0 Accepted; no contact has its addresses",
}


def _colleague(envelope: Envelope) -> User | None:
    candidates = [envelope.mail_from or ""]
    try:
        headers = message_from_bytes(envelope.original_content or b"", policy=policy.compat32)
        candidates.append(parseaddr(str(headers.get("From", "")))[1])
    except (LookupError, ValueError):
        pass
    for address in candidates:
        address = address.strip().lower()
        if address:
            user = User.objects.filter(email__iexact=address, is_active=True).first()
            if user is not None:
                return user
    return None


def _receive(envelope: Envelope) -> str:
    close_old_connections()
    try:
        user = _colleague(envelope)
        if user is None:
            return "550 5.7.1 Only Rapport users may send to this address"
        delivery = Delivery(channel=InboundChannel.SMTP, user=user)
        received = receive_email(envelope.original_content or b"", delivery=delivery)
    finally:
        close_old_connections()
    if received.outcome == InboundOutcome.REJECTED:
        return f"554 5.6.0 {' '.join(received.reason.split())}"
    return ANSWERS[received.outcome]


class MailInHandler:
    """aiosmtpd handler: recipients among ``addresses`` only, then ``mail.receiving``."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = {address.lower() for address in addresses}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 Not an address of this CRM"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await sync_to_async(_receive, thread_sensitive=False)(envelope)


def start_listener(host: str, port: int, addresses: list[str]) -> Controller:
    """Listen on ``host:port`` in a background thread; ``stop()`` the result to end."""
    controller = Controller(
        MailInHandler(addresses),
        hostname=host,
        port=port,
        data_size_limit=max_message_bytes(),
        decode_data=False,
    )
    controller.start()
    return controller
