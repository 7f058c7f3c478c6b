"""The read side of activities: what a user may see, a record's activities newest
first, and the other records each activity links to.

The rule is the permission layer's, nothing more: a user sees an activity when
their role's view scope for ``activities.activity`` reaches it (through its
owner and team, like any record). A record's timeline lists the activities
linked to it that the reader may see; the page already checked they may see
the record. Of the other records an activity links to, a reader is shown
only those they may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Prefetch, Q

from rapport.activities.links import Target, visible_records
from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
from rapport.core.permissions import scope
from rapport.core.timeline import Position, older_than

if TYPE_CHECKING:
    from rapport.accounts.models import User

TIMELINE_SOURCE = "activities"
# Rows other apps keep beside an activity, one to one (an email's delivery), read in
# the timeline's own query so that showing them costs no query per item.
_TIMELINE_RELATIONS: list[str] = []


def read_with_timeline(relation: str) -> None:
    """Have the timeline read ``relation``, a reverse one-to-one of ``Activity``, with
    each activity (called from an app's ``AppConfig.ready``)."""
    if relation not in _TIMELINE_RELATIONS:
        _TIMELINE_RELATIONS.append(relation)


def visible_activities(user: User | None) -> models.QuerySet[Activity]:
    return scope(Activity.objects.all(), user)


def with_details(activities: models.QuerySet[Activity]) -> models.QuerySet[Activity]:
    """``activities`` with their owner, links and attendees read alongside."""
    return activities.select_related("owner").prefetch_related(
        "links", Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user"))
    )


def linked_to(activities: models.QuerySet[Activity], target: Target) -> models.QuerySet[Activity]:
    return activities.filter(
        links__object_type=target.object_type, links__object_id=target.object_id
    )


def timeline_activities(
    user: User,
    target: Target,
    *,
    before: Position | None,
    kinds: set[str] | None,
    limit: int,
) -> list[Activity]:
    """Up to ``limit`` of the activities linked to ``target`` that ``user`` may see, newest
    first, strictly before ``before``; each with ``at``, its time on the timeline.

    The link conditions share one join, which the ordering reuses: the database walks
    the ``activitylink_timeline_idx`` range of the record backwards and stops after
    ``limit`` rows, however many activities the record has."""
    on_record = Q(links__object_type=target.object_type, links__object_id=target.object_id)
    if before is not None:
        on_record &= Q(links__occurred_at__lte=before.at) & older_than(
            before, TIMELINE_SOURCE, at="links__occurred_at", pk="links__activity_id"
        )
    activities = visible_activities(user).filter(on_record)
    if kinds is not None:
        activities = activities.filter(kind__in=kinds)
    activities = (
        activities.annotate(at=F("links__occurred_at"))
        .order_by("-links__occurred_at", "-links__activity_id")
        .select_related("owner", *_TIMELINE_RELATIONS)
        .prefetch_related(
            Prefetch(
                "attendees",
                queryset=MeetingAttendee.objects.filter(user__isnull=False).select_related("user"),
                to_attr="user_attendees",
            )
        )
    )
    found = list(activities[:limit])
    for activity in found:
        activity.attendee_users = [attendee.user for attendee in activity.user_attendees]
    attach_other_records(found, user, shown_on=target)
    return found


def attach_other_records(
    activities: Sequence[Activity], user: User | None, *, shown_on: Target | None = None
) -> None:
    """Set ``other_records`` on each activity: the records it links to that ``user`` may
    see, but ``shown_on`` (the page's own record). One query for the links and one per
    record type, whatever the number of activities."""
    links = ActivityLink.objects.filter(activity__in=[activity.pk for activity in activities])
    if shown_on is not None:
        links = links.exclude(object_type=shown_on.object_type, object_id=shown_on.object_id)
    targets_of: dict[int, list[Target]] = defaultdict(list)
    for activity_id, kind, pk in links.values_list("activity_id", "object_type", "object_id"):
        targets_of[activity_id].append(Target(kind, pk))
    visible = visible_records(user, _all(targets_of.values()))
    for activity in activities:
        targets = sorted(targets_of.get(activity.pk, []))
        activity.other_records = [visible[target] for target in targets if target in visible]


def _all(groups: Iterable[list[Target]]) -> list[Target]:
    return [target for group in groups for target in group]
