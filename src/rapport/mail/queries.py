"""The read side of email: the templates a user may use, and the emails they may see.

Templates are personal tools rather than CRM records, so no role grant governs
them: a user sees their own and the shared ones. An email is an activity, so the
activity's view scope decides who sees it and its delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from rapport.activities.queries import visible_activities
from rapport.mail.models import EmailTemplate, OutgoingEmail

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
