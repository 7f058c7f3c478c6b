"""The activities app's two sources of every record's timeline (``core.timeline``):
the activities linked to the record, and the changes of its owner and lifecycle
stage read from the audit log; and how the API shows their items
(``core.timeline_api``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import prefetch_related_objects
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import Field, Schema

from rapport.accounts.models import User
from rapport.activities import queries
from rapport.activities.links import Target, is_linkable
from rapport.activities.models import Activity, ActivityKind
from rapport.activities.schemas import ActivityOut
from rapport.core import timeline, timeline_api
from rapport.core.history import DescribedEntry, describe_entries
from rapport.core.models import AuditAction, AuditEntry, Source
from rapport.core.timeline import Position, TimelineItem

# Field changes a reader of the timeline wants to see among the interactions.
SHOWN_FIELDS = ("owner", "lifecycle_stage")
CHANGE_KIND = "change"


class ActivitySource:
    key = queries.TIMELINE_SOURCE
    kinds: Sequence[tuple[str, Promise | str]] = ActivityKind.choices

    def applies_to(self, model: type[models.Model]) -> bool:
        return is_linkable(model)

    def items(
        self,
        user: User,
        record: models.Model,
        *,
        before: Position | None,
        kinds: set[str] | None,
        limit: int,
    ) -> list[TimelineItem]:
        wanted = None if kinds is None else kinds & set(ActivityKind.values)
        if wanted is not None and not wanted:
            return []
        activities = queries.timeline_activities(
            user, Target.of(record), before=before, kinds=wanted, limit=limit
        )
        return [
            TimelineItem(
                at=activity.at,
                source=self.key,
                id=activity.pk,
                kind=activity.kind,
                template="activities/_activity_item.html",
                obj=activity,
            )
            for activity in activities
        ]


def _shown_fields(model: type[models.Model]) -> list[str]:
    shown = []
    for name in SHOWN_FIELDS:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        shown.append(name)
    return shown


class FieldChangeSource:
    key = "changes"
    kinds: Sequence[tuple[str, Promise | str]] = [(CHANGE_KIND, _("Owner and stage changes"))]

    def applies_to(self, model: type[models.Model]) -> bool:
        return is_linkable(model) and bool(_shown_fields(model))

    def items(
        self,
        user: User,
        record: models.Model,
        *,
        before: Position | None,
        kinds: set[str] | None,
        limit: int,
    ) -> list[TimelineItem]:
        """The record's edits that changed a shown field (only those fields kept). Whoever
        may see the record may see its history, so no further check."""
        if kinds is not None and CHANGE_KIND not in kinds:
            return []
        model = type(record)
        shown = _shown_fields(model)
        entries = list(
            AuditEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id=str(record.pk),
                action__in=[AuditAction.UPDATE, AuditAction.MERGE],
                changes__has_any_keys=shown,
            )
            .filter(timeline.older_than(before, self.key))
            .select_related("actor")
            .order_by("-at", "-id")[:limit]
        )
        for entry in entries:
            entry.changes = {name: entry.changes[name] for name in shown if name in entry.changes}
        return [
            TimelineItem(
                at=described.entry.at,
                source=self.key,
                id=described.entry.pk,
                kind=CHANGE_KIND,
                template="activities/_change_item.html",
                obj=described,
            )
            for described in describe_entries(entries, model, user)
            if described.entry.changes
        ]


# How the API shows them (``core.timeline_api``)


class ChangeOut(Schema):
    """An edit of the record's owner or lifecycle stage, from its audit log."""

    actor: int | None = Field(description="The id of the user who made it.")
    actor_label: str = Field(description="Who made it, as named then.")
    source: Source = Field(description="Through what: ui, api, import, automation, system…")
    changes: dict[str, list[Any]] = Field(
        description="{field: [before, after]} of the fields shown (owner, lifecycle_stage), "
        "as stored: a user's id, a stage's value."
    )


def _activities_for_api(user: User, activities: list[Activity]) -> Sequence[Activity]:
    prefetch_related_objects(activities, "links", "attendees")
    return activities


def _changes_for_api(user: User, described: list[DescribedEntry]) -> Sequence[dict[str, Any]]:
    return [
        {
            "actor": item.entry.actor_id,
            "actor_label": item.entry.actor_label,
            "source": item.entry.source,
            "changes": item.entry.changes,
        }
        for item in described
    ]


timeline.register(ActivitySource())
timeline.register(FieldChangeSource())
timeline_api.register(
    ActivitySource.key,
    timeline_api.ItemShape(
        field="activity",
        schema=ActivityOut,
        prepare=_activities_for_api,
        description="The activity, when the item is one (source activities).",
    ),
)
timeline_api.register(
    FieldChangeSource.key,
    timeline_api.ItemShape(
        field="change",
        schema=ChangeOut,
        prepare=_changes_for_api,
        description="The owner or stage change, when the item is one (source changes).",
    ),
)
