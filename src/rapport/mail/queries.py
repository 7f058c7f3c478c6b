"""The read side of email: the templates a user may use, and the emails they may see.

Templates are personal tools rather than CRM records, so no role grant governs
them: a user sees their own and the shared ones. An email is an activity, so the
activity's view scope decides who sees it and its delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from rapport.activities.models import Activity, ActivityKind
from rapport.activities.queries import visible_activities
from rapport.contacts.models import Contact
from rapport.core.permissions import object_type, scope, team_ids
from rapport.mail.models import EmailTemplate, InboundMessage, Mailbox, OutgoingEmail

if TYPE_CHECKING:
    from rapport.accounts.models import User


def visible_templates(user: User | None) -> models.QuerySet[EmailTemplate]:
    """The user's own templates and the shared ones."""
    if user is None or not user.is_authenticated or not user.is_active:
        return EmailTemplate.objects.none()
    return EmailTemplate.objects.filter(Q(owner=user) | Q(shared=True))


def can_manage_template(user: User | None, template: EmailTemplate) -> bool:
    """Whether ``user`` may change or delete ``template``: admins the shared ones, an
    owner their own private one."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if template.shared:
        return user.is_admin
    return template.owner_id == user.pk


def visible_emails(user: User | None) -> models.QuerySet[OutgoingEmail]:
    """The sent emails whose activity ``user`` may see, with their activity."""
    return OutgoingEmail.objects.filter(activity__in=visible_activities(user)).select_related(
        "activity"
    )


def visible_mailboxes(user: User | None) -> models.QuerySet[Mailbox]:
    """The mailboxes ``user`` connected, those of their teams, and for an admin all."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Mailbox.objects.none()
    mailboxes = Mailbox.objects.select_related("owner", "team")
    if user.is_admin:
        return mailboxes
    return mailboxes.filter(Q(owner=user) | Q(team_id__in=team_ids(user)))


def can_manage_mailbox(user: User | None, mailbox: Mailbox) -> bool:
    """Its owner and admins change, sync or disconnect a mailbox."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_admin or mailbox.owner_id == user.pk


def visible_inbound(user: User | None) -> models.QuerySet[InboundMessage]:
    """What became of the messages the user brought in or their mailboxes received."""
    if user is None or not user.is_authenticated or not user.is_active:
        return InboundMessage.objects.none()
    messages = InboundMessage.objects.select_related("mailbox")
    if user.is_admin:
        return messages
    return messages.filter(Q(user=user) | Q(mailbox__in=visible_mailboxes(user)))


def answerable_emails(user: User | None) -> models.QuerySet[Activity]:
    """The logged emails ``user`` may see and answer (those with a Message-ID)."""
    return visible_activities(user).filter(kind=ActivityKind.EMAIL).exclude(message_id="")


def email_contacts(user: User, email: Activity) -> list[Contact]:
    """The contacts an email is on that ``user`` may see, with their addresses."""
    ids = email.links.filter(object_type=object_type(Contact)).values("object_id")
    contacts = scope(Contact.objects.filter(pk__in=ids), user)
    return list(contacts.prefetch_related("emails").order_by("pk"))
