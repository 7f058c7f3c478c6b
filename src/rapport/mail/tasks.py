"""Background task of email out: deliver one email as soon as it is written."""

from __future__ import annotations

from django_tasks import task

from rapport.mail.delivery import email_deliver


@task()
def deliver_email(email_id: int) -> bool:
    """Deliver email ``email_id`` (an ``OutgoingEmail``); safe to run twice."""
    return email_deliver(email_id)
