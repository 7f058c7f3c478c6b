"""Delivering queued emails over SMTP: each one at most once, with retries.

A delivery claims its email by moving it from queued to sending in a short
transaction (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, then a
conditional UPDATE that only one worker can win on either database), talks to
the mail server outside any transaction, and records the outcome: sent; queued
again after a growing delay when the server could not be reached or answered
"try later" (4xx); failed with the reason when it refused for good (5xx) or after
the last attempt. The ``deliver_email`` task tries an email as soon as it is
written; the sweep below, run by every worker, takes the retries that fell due
and any email whose task was lost.

An email left "sending" by a worker that died mid-conversation may or may not
have reached the server. It is never sent again on its own, which could send it
twice: after ``LEASE`` it is marked failed with that explanation, and its sender
can send it again.

Logs name the email by id and the error by its class: no address, no text.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from email.utils import formataddr

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.activities.models import Activity
from rapport.attachments.models import Attachment
from rapport.core.actors import Actor
from rapport.core.events import emit
from rapport.core.permissions import object_type
from rapport.core.schedule import every
from rapport.mail.models import DeliveryStatus, OutgoingEmail
from rapport.mail.services import sender_address

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 2 * 60 * 60
# Longer than any SMTP conversation can last (Django's EMAIL_TIMEOUT is 20 s per step).
LEASE = datetime.timedelta(minutes=10)
SWEEP_BATCH = 100
REASON_MAX_LENGTH = 500


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 4, 16, 64 minutes after the first, second… failed attempt; at most two hours."""
    seconds = FIRST_RETRY_SECONDS * 4 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


def _claim(candidates: QuerySet[OutgoingEmail], now: datetime.datetime) -> OutgoingEmail | None:
    """Move the first due, queued email among ``candidates`` to sending; it or ``None``."""
    with transaction.atomic():
        pk = (
            candidates.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        claimed = OutgoingEmail.objects.filter(pk=pk, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
        )
    if not claimed:
        return None
    return OutgoingEmail.objects.select_related("activity").get(pk=pk)


def _headers(email: OutgoingEmail, activity: Activity) -> dict[str, str]:
    headers = {"Message-ID": activity.message_id}
    if email.in_reply_to:
        headers["In-Reply-To"] = email.in_reply_to
        headers["References"] = email.references
    return headers


def _message(email: OutgoingEmail, activity: Activity) -> EmailMessage:
    message = EmailMessage(
        subject=activity.subject,
        body=activity.body,
        from_email=formataddr((email.from_name, sender_address())),
        to=activity.email_to,
        cc=activity.email_cc,
        reply_to=[email.reply_to] if email.reply_to else None,
        headers=_headers(email, activity),
    )
    for name, content, content_type in _attachments(activity):
        message.attach(name, content, content_type)
    return message


def _attachments(activity: Activity) -> list[tuple[str, bytes, str]]:
    """The files attached to the email's activity (their latest versions)."""
    files = []
    attachments = Attachment.objects.filter(
        object_type=object_type(activity), object_id=str(activity.pk)
    ).order_by("id")
    for attachment in attachments:
        version = attachment.versions.order_by("-number").first()
        if version is not None:
            with version.file.open("rb") as stored:
                files.append((attachment.name, stored.read(), version.content_type))
    return files


def _server_text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())


def _is_permanent(error: Exception) -> bool:
    """Whether the server refused for good (a 5xx answer): trying again cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _reason(error: Exception) -> str:
    """Why the attempt failed, for the people who may see the email."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(
            f"{code} {_server_text(text)}" for code, text in error.recipients.values()
        )
        reason = _("The mail server refused the recipients: %(answer)s") % {"answer": answers}
    elif isinstance(error, smtplib.SMTPResponseException):
        reason = _("The mail server answered %(code)d %(answer)s") % {
            "code": error.smtp_code,
            "answer": _server_text(error.smtp_error),
        }
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        reason = _("The mail server closed the connection.")
    elif isinstance(error, OSError) and error.strerror:
        reason = _("The mail server could not be reached: %(error)s.") % {"error": error.strerror}
    else:
        reason = _("The mail server could not be reached.")
    return reason[:REASON_MAX_LENGTH]


def _record(
    email: OutgoingEmail, status: str, *, event: str | None = None, **values: object
) -> None:
    """Set the outcome of the attempt in progress (unless the sweep gave up on it)."""
    with transaction.atomic():
        updated = OutgoingEmail.objects.filter(pk=email.pk, status=DeliveryStatus.SENDING).update(
            status=status, **values
        )
        if updated and event:
            emit(
                event,
                obj=email.activity,
                actor=Actor.system(),
                payload={"attempts": email.attempts, "status": status},
            )


def _attempt(email: OutgoingEmail, now: datetime.datetime) -> None:
    activity = email.activity
    if activity.is_deleted:
        _record(
            email,
            DeliveryStatus.FAILED,
            event="email.failed",
            last_error=_("The email was deleted before it was sent."),
        )
        return
    try:
        _message(email, activity).send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning(
            "email %s: attempt %d failed (%s)", email.pk, email.attempts, type(error).__name__
        )
        if _is_permanent(error) or email.attempts >= MAX_ATTEMPTS:
            _record(email, DeliveryStatus.FAILED, event="email.failed", last_error=_reason(error))
        else:
            _record(
                email,
                DeliveryStatus.QUEUED,
                next_attempt_at=now + retry_delay(email.attempts),
                last_error=_reason(error),
            )
    except Exception as error:
        # A message that cannot even be built will not build on a retry either. Its
        # text may be personal, so only the kind of error is logged.
        logger.error("email %s could not be built (%s)", email.pk, type(error).__name__)
        _record(
            email,
            DeliveryStatus.FAILED,
            event="email.failed",
            last_error=_("The message could not be built."),
        )
    else:
        _record(email, DeliveryStatus.SENT, event="email.sent", sent_at=now, last_error="")


def email_deliver(email_id: int, *, now: datetime.datetime | None = None) -> bool:
    """Try to deliver email ``email_id`` if it is queued and due; whether it was tried.
    Never raises for a delivery problem: the outcome is on the email."""
    now = now or timezone.now()
    email = _claim(OutgoingEmail.objects.filter(pk=email_id), now)
    if email is None:
        return False
    _attempt(email, now)
    return True


def fail_interrupted(*, now: datetime.datetime) -> int:
    """Mark failed the emails stuck in sending past ``LEASE``: their worker died."""
    stuck = list(
        OutgoingEmail.objects.filter(
            status=DeliveryStatus.SENDING, claimed_at__lt=now - LEASE
        ).select_related("activity")[:SWEEP_BATCH]
    )
    reason = _("Delivery was interrupted; the email may not have reached the mail server.")
    for email in stuck:
        _record(email, DeliveryStatus.FAILED, event="email.failed", last_error=reason)
    return len(stuck)


def deliver_due(*, now: datetime.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Deliver up to ``limit`` queued emails that are due; how many were tried."""
    now = now or timezone.now()
    fail_interrupted(now=now)
    tried = 0
    while tried < limit and (email := _claim(OutgoingEmail.objects.all(), now)) is not None:
        _attempt(email, now)
        tried += 1
    return tried


@every(30, name="mail.delivery")
def deliver_due_emails() -> int:
    return deliver_due()
