"""What the activities app does when records elsewhere change (``core.events``,
delivered after commit, at least once: every handler is idempotent).

- A record merged into another: its activities move to the winner's timeline.
- A record purged: its links go (its activities stay, on their other records).
- An activity restored from the trash: its records' engagement dates count it again.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Min

from rapport.activities.engagement import refresh_targets
from rapport.activities.links import Target, linkable_models
from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.activities.services import link_targets
from rapport.core.events import subscribe
from rapport.core.models import OutboxEvent


def _target(event: OutboxEvent) -> Target | None:
    if event.aggregate_type not in linkable_models() or not event.aggregate_id.isdigit():
        return None
    return Target(event.aggregate_type, int(event.aggregate_id))


def move_activities(loser: Target, winner: Target) -> None:
    """Link ``loser``'s activities to ``winner`` instead, once each."""
    with transaction.atomic():
        on_winner = ActivityLink.objects.filter(
            object_type=winner.object_type, object_id=winner.object_id
        ).values("activity_id")
        on_loser = ActivityLink.objects.filter(
            object_type=loser.object_type, object_id=loser.object_id
        )
        on_loser.filter(activity_id__in=on_winner).delete()
        on_loser.update(object_id=winner.object_id)
        if winner.object_type == "contacts.contact":
            _drop_repeated_contact_attendees(winner.object_id)
        refresh_targets([loser, winner])


def _drop_repeated_contact_attendees(contact_id: int) -> None:
    """Merging points both contacts' attendance of one meeting at the winner: keep one."""
    attending = MeetingAttendee.objects.filter(contact_id=contact_id)
    first = attending.values("activity_id").annotate(first_id=Min("id")).values("first_id")
    attending.exclude(id__in=first).delete()


def _on_merged(event: OutboxEvent) -> None:
    winner, loser_id = _target(event), event.payload.get("loser")
    if winner is not None and isinstance(loser_id, int):
        move_activities(Target(winner.object_type, loser_id), winner)


def _on_purged(event: OutboxEvent) -> None:
    target = _target(event)
    if target is not None:
        ActivityLink.objects.filter(
            object_type=target.object_type, object_id=target.object_id
        ).delete()


def _on_activity_restored(event: OutboxEvent) -> None:
    activity = Activity.objects.filter(pk=event.aggregate_id).first()
    if activity is not None:
        refresh_targets(link_targets(activity))


def subscribe_all() -> None:
    for model in linkable_models().values():
        subscribe(f"{model._meta.model_name}.merged", _on_merged)
        subscribe(f"{model._meta.model_name}.purged", _on_purged)
    subscribe("activity.restored", _on_activity_restored)
