"""Emails received from a lead's address join the lead's timeline.

The mail app files an incoming email on the contacts whose addresses it names; leads
are not contacts, so once the email is logged (``activity.created``, after commit)
it is also linked to every live, unconverted lead whose email is its sender, and
those leads are rescored (an email received counts as a reply). The handler is
idempotent: a link that exists is left as it is."""

from __future__ import annotations

from django.db import transaction

from rapport.activities.engagement import refresh_targets
from rapport.activities.links import Target
from rapport.activities.models import Activity, ActivityKind, ActivityLink, Direction
from rapport.core.events import subscribe
from rapport.core.models import OutboxEvent
from rapport.core.permissions import object_type
from rapport.sales.models import Lead, LeadStatus
from rapport.sales.scoring import rescore_ids


def link_to_leads(activity: Activity) -> list[int]:
    """Link an inbound email to the leads with its sender's address; their ids."""
    if activity.kind != ActivityKind.EMAIL or activity.direction != Direction.INBOUND:
        return []
    sender = activity.email_from.strip().lower()
    if not sender:
        return []
    lead_ids = list(
        Lead.objects.filter(email=sender)
        .exclude(status=LeadStatus.CONVERTED)
        .values_list("pk", flat=True)
    )
    if not lead_ids:
        return []
    label = object_type(Lead)
    with transaction.atomic():
        ActivityLink.objects.bulk_create(
            [
                ActivityLink(
                    activity=activity,
                    object_type=label,
                    object_id=lead_id,
                    occurred_at=activity.occurred_at,
                )
                for lead_id in lead_ids
            ],
            ignore_conflicts=True,
        )
        refresh_targets([Target(label, lead_id) for lead_id in lead_ids])
        rescore_ids(lead_ids)
    return lead_ids


def _on_activity_created(event: OutboxEvent) -> None:
    activity = Activity.objects.filter(pk=event.aggregate_id).first()
    if activity is not None:
        link_to_leads(activity)


def subscribe_all() -> None:
    subscribe("activity.created", _on_activity_created)
