"""The verbs of tasks: create, update, complete, delete, and the reminder job's claim.

Every write goes through ``core.services`` (permissions, validation, audit,
events) after the task rules here: a repeating task or a reminder needs a due
date; ``remind_at`` follows the due time and the lead time, and moving it arms
the reminder again; completing a repeating task creates its next occurrence;
a task may be linked only to records the writer may see.
"""

from __future__ import annotations

import copy
import datetime
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import can_create, object_type, require, scope
from rapport.core.registry import record_model
from rapport.notifications.services import notify
from rapport.tasks import engagement
from rapport.tasks.models import Recurrence, Status, Task, TaskLink
from rapport.tasks.queries import related_records

if TYPE_CHECKING:
    from rapport.accounts.models import User

# What a caller may set; the rest is the services' to derive.
INPUT_FIELDS = frozenset(
    {
        "title",
        "description",
        "due_at",
        "priority",
        "status",
        "assignee",
        "assignee_team",
        "recurrence",
        "recurrence_interval",
        "reminder_minutes",
    }
)
MAX_RELATED = 20
# The largest id a database column holds; a larger one names no record.
MAX_ID = 2**63 - 1
RRULE_FREQUENCIES = {
    Recurrence.DAILY: DAILY,
    Recurrence.WEEKLY: WEEKLY,
    Recurrence.MONTHLY: MONTHLY,
}


@dataclass(frozen=True)
class RecordRef:
    """A record named by its object type label and id: ``contacts.contact`` and 42."""

    object_type: str
    object_id: int

    @classmethod
    def parse(cls, raw: str) -> RecordRef:
        """``"contacts.contact:42"`` → ``RecordRef``; ``ValueError`` for anything else."""
        label, _sep, raw_id = raw.rpartition(":")
        if not label or not raw_id.isdigit() or not 0 < int(raw_id) <= MAX_ID:
            raise ValueError(raw)
        return cls(label, int(raw_id))

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"


@dataclass(frozen=True)
class Completion:
    task: Task
    # The next occurrence of a repeating task, created by completing this one.
    next_task: Task | None


def ref_of(record: Any) -> RecordRef:
    return RecordRef(object_type(record), record.pk)


# Related records


def _related_errors(message: str) -> ValidationError:
    return ValidationError({"related": [message]})


def resolve_related(user: User | None, refs: Iterable[RecordRef]) -> list[RecordRef]:
    """``refs`` without repeats, each checked to name a record ``user`` may see.

    A missing record and one the user may not see answer the same error, so
    linking reveals nothing about records out of sight."""
    unique = list(dict.fromkeys(refs))
    if len(unique) > MAX_RELATED:
        raise _related_errors(
            _("Link at most %(count)d records to one task.") % {"count": MAX_RELATED}
        )
    for ref in unique:
        try:
            model = record_model(ref.object_type)
        except Http404:
            model = None
        if model is None or model is Task or not 0 < ref.object_id <= MAX_ID:
            raise _related_errors(_("%(ref)s is not a record you can link.") % {"ref": ref})
        if not scope(model.objects.filter(pk=ref.object_id), user, "view").exists():
            raise _related_errors(_("No record %(ref)s, or not one you may see.") % {"ref": ref})
    return unique


def links_of(task: Task) -> list[RecordRef]:
    return [RecordRef(link.object_type, link.object_id) for link in task.links.all()]


def _replace_links(task: Task, actor: Actor, wanted: Sequence[RecordRef]) -> bool:
    """Link ``task`` to ``wanted``, keeping links to records the actor cannot see (they
    could not have meant to remove them); whether anything changed."""
    current = links_of(task)
    hidden = set(current) - set(related_records(actor.user, current))
    target = list(dict.fromkeys([*wanted, *(ref for ref in current if ref in hidden)]))
    if set(target) == set(current):
        return False
    removed = set(current) - set(target)
    for ref in removed:
        task.links.filter(object_type=ref.object_type, object_id=ref.object_id).delete()
    TaskLink.objects.bulk_create(
        TaskLink(task=task, object_type=ref.object_type, object_id=ref.object_id)
        for ref in target
        if ref not in set(current)
    )
    return True


# Derived fields


def _checked_values(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - INPUT_FIELDS
    if unknown:
        raise ValidationError({name: [_("This field cannot be set.")] for name in sorted(unknown)})
    return dict(values)


def _derived(current: Task, values: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """``completed_at``, ``remind_at`` and ``reminded_at`` for ``current`` with ``values``
    applied: a due or lead time that moves arms the reminder again."""
    preview = copy.copy(current)
    for name, value in values.items():
        setattr(preview, name, value)
    derived: dict[str, Any] = {}
    if preview.status == Status.DONE:
        derived["completed_at"] = current.completed_at if current.status == Status.DONE else now
    else:
        derived["completed_at"] = None
    remind_at = preview.planned_reminder()
    derived["remind_at"] = remind_at
    if remind_at != current.remind_at:
        derived["reminded_at"] = None
    return derived


def _assignment_values(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """A new task nobody was named for is the creator's own to do."""
    if values.get("assignee") is None and values.get("assignee_team") is None:
        values["assignee"] = actor.user
    return values


def _check_assignment(current: Task, values: Mapping[str, Any]) -> None:
    """Whoever a task is given to must be someone: checked when the assignment changes
    only, so a task whose assignee has left can still be completed."""
    if "assignee" not in values and "assignee_team" not in values:
        return
    assignee = values.get("assignee", current.assignee)
    team = values.get("assignee_team", current.assignee_team)
    if assignee is None and team is None:
        raise ValidationError({"assignee": [_("Assign the task to a user or a team.")]})
    if "assignee" in values and assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": [_("This user is deactivated.")]})


def responsible(task: Task) -> list[User]:
    """Who does ``task``: its assignee, else the active members of its team."""
    if task.assignee_id is not None:
        return [task.assignee]
    if task.assignee_team_id is not None:
        return list(task.assignee_team.members.filter(is_active=True))
    return []


def _notify_assignment(task: Task, actor: Actor) -> None:
    notify(
        recipients=responsible(task),
        actor=actor,
        title=format_lazy(gettext_lazy("New task for you: {title}"), title=task.title),
        url=task.get_absolute_url(),
        kind="task.assigned",
    )


def _refresh_engagement(refs: Iterable[RecordRef]) -> None:
    """The records' "next activity" may have moved with this task."""
    engagement.refresh((ref.object_type, ref.object_id) for ref in refs)


# The verbs


def task_create(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    related: Sequence[RecordRef] = (),
    custom: Mapping[str, Any] | None = None,
) -> Task:
    """Add a task owned by the actor, assigned to the actor unless ``values`` names
    an assignee or a team, and linked to ``related``."""
    if not can_create(actor.user, Task):
        raise PermissionDenied
    values = _assignment_values(actor, _checked_values(values))
    blank = Task(status=values.get("status", Status.OPEN))
    _check_assignment(blank, values)
    refs = resolve_related(actor.user, related)
    values |= _derived(blank, values, timezone.now())
    with transaction.atomic():
        task = records.record_create(Task, actor=actor, values=values, custom=custom)
        TaskLink.objects.bulk_create(
            TaskLink(task=task, object_type=ref.object_type, object_id=ref.object_id)
            for ref in refs
        )
        _notify_assignment(task, actor)
        _refresh_engagement(refs)
    return task


def task_update(
    task: Task,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    related: Sequence[RecordRef] | None = None,
    custom: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Task:
    """Change a task; ``related``, when given, replaces its links. Setting the status
    to done completes it (a repeating task then gets its next occurrence)."""
    values = _checked_values(values or {})
    require(actor.user, "edit", task)
    refs = resolve_related(actor.user, related) if related is not None else None
    with transaction.atomic():
        current = records.lock_record(task, expected_version)
        _check_assignment(current, values)
        was_open = current.is_open
        linked_before = links_of(current)
        before = {name: getattr(current, name) for name in ("assignee_id", "assignee_team_id")}
        updated = records.record_update(
            current,
            actor=actor,
            values=values | _derived(current, values, timezone.now()),
            custom=custom,
        )
        if refs is not None and _replace_links(updated, actor, refs):
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=updated,
                changes={
                    "related": [
                        [str(ref) for ref in linked_before],
                        [str(ref) for ref in links_of(updated)],
                    ]
                },
            )
        if was_open and updated.status == Status.DONE:
            _after_completion(updated, actor)
        _refresh_engagement([*linked_before, *links_of(updated)])
        reassigned = before != {
            name: getattr(updated, name) for name in ("assignee_id", "assignee_team_id")
        }
        if reassigned:
            _notify_assignment(updated, actor)
    return updated


def task_complete(task: Task, *, actor: Actor, expected_version: int | None = None) -> Completion:
    """Mark an open task done; a repeating one gets its next occurrence."""
    require(actor.user, "edit", task)
    with transaction.atomic():
        current = records.lock_record(task, expected_version)
        if not current.is_open:
            raise ValidationError({"status": [_("This task is already closed.")]})
        now = timezone.now()
        values = {"status": Status.DONE}
        done = records.record_update(
            current, actor=actor, values=values | _derived(current, values, now)
        )
        next_task = _after_completion(done, actor)
        _refresh_engagement(links_of(done))
    return Completion(task=done, next_task=next_task)


def task_delete(task: Task, *, actor: Actor, expected_version: int | None = None) -> Task:
    """Move a task to the trash."""
    with transaction.atomic():
        deleted = records.record_delete(task, actor=actor, expected_version=expected_version)
        _refresh_engagement(links_of(deleted))
    return deleted


def refresh_linked_records(task: Task) -> None:
    """Recompute the next activity of the records ``task`` is about: what restoring it
    from the trash does (``core.services.on_restore``), as creating and deleting do."""
    _refresh_engagement(links_of(task))


def _after_completion(task: Task, actor: Actor) -> Task | None:
    emit("task.completed", obj=task, actor=actor)
    if not task.recurrence or task.due_at is None:
        return None
    return _next_occurrence(task, actor)


# Recurrence


def _zone_of(task: Task) -> zoneinfo.ZoneInfo:
    """The time zone a repeating task keeps its time of day in: its assignee's, else its
    owner's, so "daily at 9:00" stays 9:00 across daylight saving changes."""
    person = task.assignee or task.owner
    try:
        return zoneinfo.ZoneInfo(person.timezone if person else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def next_due(task: Task, *, after: datetime.datetime) -> datetime.datetime:
    """The first occurrence of ``task``'s rule strictly after both its due time and
    ``after``: a task completed late continues on its rhythm from now, not in the past.
    Months without the day (the 31st) are skipped, as RFC 5545 does."""
    zone = _zone_of(task)
    due = timezone.localtime(task.due_at, zone).replace(tzinfo=None)
    # rrule works in whole seconds; the due time's fraction is put back after.
    start = due.replace(microsecond=0)
    pivot = max(start, timezone.localtime(after, zone).replace(tzinfo=None))
    rule = rrule(
        RRULE_FREQUENCIES[Recurrence(task.recurrence)],
        interval=task.recurrence_interval,
        dtstart=start,
    )
    following = rule.after(pivot)
    return following.replace(microsecond=due.microsecond, tzinfo=zone)


def _next_occurrence(task: Task, actor: Actor) -> Task:
    due = next_due(task, after=timezone.now())
    values = {
        name: getattr(task, name)
        for name in (
            "title",
            "description",
            "priority",
            "assignee",
            "assignee_team",
            "recurrence",
            "recurrence_interval",
            "reminder_minutes",
        )
    }
    values |= {"due_at": due, "status": Status.OPEN, "owner": task.owner, "team": task.team}
    values |= _derived(Task(status=Status.OPEN), values, timezone.now())
    following = records.record_create(Task, actor=actor, values=values, custom=task.custom)
    TaskLink.objects.bulk_create(
        TaskLink(task=following, object_type=link.object_type, object_id=link.object_id)
        for link in task.links.all()
    )
    return following
