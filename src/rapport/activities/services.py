"""Activities: the verbs every door (the timeline's forms, the API, email sync) calls.

An activity takes the record write path of ``core.services`` (permission
check, model validation, version, audit entry, event, search entry); these
functions add its links, a meeting's attendees and the users it mentions,
and keep the linked records' "last contacted" and "next activity" dates
(``activities.engagement``) in the same transaction.

Rules:
- Creating needs the create grant on activities and a view of every record
  linked; a link to a record the actor may not see is refused like a link to
  one that does not exist.
- Editing and deleting need the edit or delete grant on the activity itself.
  Links the actor cannot see are kept when they replace the links.
- The kind never changes; each kind's fields are checked by ``Activity.clean``.
- ``@username`` in the text of any kind but an email mentions that user; the
  mentioned users who may see the activity are notified after commit.

Bad input raises one ``ValidationError`` keyed by field (``links.1``,
``ends_at``) before anything is written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Team, User
from rapport.activities.engagement import refresh_targets
from rapport.activities.links import (
    Target,
    TargetLike,
    is_id,
    resolve_targets,
    visible_records,
)
from rapport.activities.models import Activity, ActivityKind, ActivityLink, MeetingAttendee
from rapport.contacts.models import Contact
from rapport.contacts.writes import resolve_owner_and_team
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import can, can_create, require, scope
from rapport.core.services import (
    assign_values,
    event_name,
    record_create,
    record_delete,
    record_update,
    validate_record,
)
from rapport.notifications.services import notify

Errors = dict[str, list[str]]
# "@name" where the @ does not follow a word character (an email address).
MENTION = re.compile(r"(?<![\w@])@(\w[\w.+-]*)")
MAX_MENTIONS = 20
MAX_ATTENDEES = 200
NOT_SETTABLE = frozenset({"kind", "mentions", "private_to_user", "private_to_team"})
EMAIL_AS_EXCHANGED = frozenset(
    {
        "subject",
        "body",
        "direction",
        "occurred_at",
        "email_from",
        "email_to",
        "email_cc",
        "message_id",
        "thread_id",
    }
)


# Mentions


def mentioned_handles(text: str) -> list[str]:
    """The ``@username`` handles in ``text``, in order, without a trailing full stop."""
    handles = (match.group(1).rstrip(".-+") for match in MENTION.finditer(text or ""))
    return list(dict.fromkeys(handle for handle in handles if handle))[:MAX_MENTIONS]


def _users_by_handle(handles: Sequence[str]) -> list[User]:
    if not handles:
        return []
    any_handle = Q()
    for handle in handles:
        any_handle |= Q(username__iexact=handle)
    return list(User.objects.filter(any_handle, is_active=True))


def _active_users(ids: Sequence[int] | None, field: str, errors: Errors) -> list[User]:
    wanted = list(dict.fromkeys(ids or []))
    users = User.objects.filter(is_active=True, pk__in=[pk for pk in wanted if is_id(pk)])
    found = {user.pk: user for user in users}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        errors[field] = [_("No active user with id %(ids)s.") % {"ids": ", ".join(missing)}]
    return [found[pk] for pk in wanted if pk in found]


def _mention_ids(kind: str, body: str, explicit: Sequence[int] | None, errors: Errors) -> list[int]:
    """The users the activity mentions: those named by id, and for any kind but an email
    (whose text someone outside wrote) those its text names by ``@username``."""
    users = _active_users(explicit, "mentions", errors)
    if kind != ActivityKind.EMAIL:
        users += _users_by_handle(mentioned_handles(body))
    return sorted({user.pk for user in users})


def _notify_mentioned(activity: Activity, actor: Actor, user_ids: Iterable[int]) -> None:
    """After commit, tell the mentioned users who may see the activity."""
    readers = [user for user in User.objects.filter(pk__in=user_ids) if can(user, "view", activity)]
    if not readers:
        return
    title = format_lazy(
        gettext_lazy("{name} mentioned you: {activity}"),
        name=str(actor.user or actor.label),
        activity=str(activity),
    )
    transaction.on_commit(
        partial(
            notify,
            recipients=readers,
            actor=actor,
            title=title,
            url=activity.get_absolute_url(),
            kind="mention",
        ),
        robust=True,
    )


# Attendees

CONTACT_TYPE = "contacts.contact"


def _attendee_contacts(user: User | None, ids: Sequence[int] | None, errors: Errors) -> list[int]:
    """The ids of the contacts named that ``user`` may see; an error names the others."""
    wanted = list(dict.fromkeys(ids or []))
    contacts = Contact.objects.filter(pk__in=[pk for pk in wanted if is_id(pk)])
    found = set(scope(contacts, user).values_list("pk", flat=True))
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        errors["attendee_contacts"] = [
            _("No contact you may see with id %(ids)s.") % {"ids": ", ".join(missing)}
        ]
    return [pk for pk in wanted if pk in found]


def _check_attendees(kind: str, users: list[int], contacts: list[int], errors: Errors) -> None:
    if kind != ActivityKind.MEETING:
        for name, given in (("attendee_users", users), ("attendee_contacts", contacts)):
            if given:
                errors[name] = [_("Only meetings have attendees.")]
    elif len(users) + len(contacts) > MAX_ATTENDEES:
        errors["attendee_users"] = [
            _("A meeting has at most %(count)d attendees.") % {"count": MAX_ATTENDEES}
        ]


def _write_attendees(activity: Activity, users: list[int], contacts: list[int]) -> None:
    activity.attendees.all().delete()
    MeetingAttendee.objects.bulk_create(
        [MeetingAttendee(activity=activity, user_id=pk) for pk in users]
        + [MeetingAttendee(activity=activity, contact_id=pk) for pk in contacts]
    )


def attendee_ids(activity: Activity) -> tuple[list[int], list[int]]:
    """The ids of a meeting's user and contact attendees."""
    rows = list(activity.attendees.order_by("id").values_list("user_id", "contact_id"))
    users = [user_id for user_id, _contact in rows if user_id is not None]
    contacts = [contact_id for _user, contact_id in rows if contact_id is not None]
    return users, contacts


def _replaced_contacts(
    user: User | None, old: list[int], given: Sequence[int] | None, errors: Errors
) -> list[int]:
    """A meeting's contact attendees after an update: those given, plus the old ones the
    actor cannot see (they could not have named them)."""
    if given is None:
        return old
    contacts = _attendee_contacts(user, given, errors)
    visible = set(scope(Contact.objects.filter(pk__in=old), user).values_list("pk", flat=True))
    return contacts + [pk for pk in old if pk not in visible and pk not in contacts]


# Links


def link_targets(activity: Activity) -> list[Target]:
    return sorted(
        Target(kind, pk) for kind, pk in activity.links.values_list("object_type", "object_id")
    )


def _write_links(activity: Activity, targets: Iterable[Target]) -> None:
    wanted = set(targets)
    current = set(link_targets(activity))
    for gone in current - wanted:
        activity.links.filter(object_type=gone.object_type, object_id=gone.object_id).delete()
    ActivityLink.objects.bulk_create(
        [
            ActivityLink(
                activity=activity,
                object_type=target.object_type,
                object_id=target.object_id,
                occurred_at=activity.occurred_at,
            )
            for target in sorted(wanted - current)
        ]
    )
    # The timeline reads the link's copy of the time.
    activity.links.exclude(occurred_at=activity.occurred_at).update(
        occurred_at=activity.occurred_at
    )


def _describe(targets: Iterable[Target]) -> list[str]:
    return [f"{target.object_type}:{target.object_id}" for target in sorted(targets)]


# Validation before writing


def _model_errors(activity: Activity, values: Mapping[str, Any], *, creating: bool) -> Errors:
    """What ``core.services`` would refuse in ``values`` on ``activity``, checked on a copy
    so the link and attendee errors can be reported with them, before anything is written."""
    candidate = copy.copy(activity)
    errors: Errors = {}
    try:
        assign_values(candidate, values)
    except ValidationError as error:
        return error.message_dict
    try:
        validate_record(candidate, None, creating=creating)
    except ValidationError as error:
        errors.update(error.message_dict)
    return errors


def _refuse_protected(values: Mapping[str, Any], errors: Errors) -> None:
    for name in sorted(NOT_SETTABLE & set(values)):
        errors[name] = [_("This field cannot be set.")]


def _refuse_rewriting_email(activity: Activity, values: Mapping[str, Any], errors: Errors) -> None:
    """An email is the record of a message exchanged: what it said, between whom and
    when stays as it was (its links, owner and team may change)."""
    if activity.kind != ActivityKind.EMAIL:
        return
    for name in sorted(EMAIL_AS_EXCHANGED & set(values)):
        if values[name] != getattr(activity, name):
            errors[name] = [_("An email stays as it was sent or received.")]


# The verbs


def activity_create(
    *,
    actor: Actor,
    kind: str,
    links: Sequence[TargetLike],
    values: Mapping[str, Any] | None = None,
    attendee_users: Sequence[int] | None = None,
    attendee_contacts: Sequence[int] | None = None,
    mentions: Sequence[int] | None = None,
    private_to_user: User | None = None,
    private_to_team: Team | None = None,
) -> Activity:
    """Log an activity of ``kind`` linked to ``links`` (records, or ``(type, id)`` pairs).

    ``values`` holds the model fields (``subject``, ``body``, ``occurred_at``, ``owner``…);
    a meeting's contact attendees are linked to it as well. ``private_to_user`` or
    ``private_to_team`` make it visible to that user or team alone."""
    if not can_create(actor.user, Activity):
        raise PermissionDenied
    values = dict(values or {})
    errors: Errors = {}
    _refuse_protected(values, errors)
    targets, link_errors = resolve_targets(actor.user, links)
    errors |= link_errors
    users = [user.pk for user in _active_users(attendee_users, "attendee_users", errors)]
    contacts = _attendee_contacts(actor.user, attendee_contacts, errors)
    _check_attendees(kind, users, contacts, errors)
    resolve_owner_and_team(values, Activity(), errors)
    values = {name: value for name, value in values.items() if name not in NOT_SETTABLE}
    values["kind"] = kind
    values["mentions"] = _mention_ids(kind, values.get("body", ""), mentions, errors)
    values["private_to_user"] = private_to_user
    values["private_to_team"] = private_to_team
    blank = Activity(owner=actor.user)
    errors |= {
        k: v for k, v in _model_errors(blank, values, creating=True).items() if k not in errors
    }
    if errors:
        raise ValidationError(errors)
    targets += [
        Target(CONTACT_TYPE, pk) for pk in contacts if Target(CONTACT_TYPE, pk) not in targets
    ]
    with transaction.atomic():
        activity = record_create(Activity, actor=actor, values=values)
        _write_links(activity, targets)
        _write_attendees(activity, users, contacts)
        refresh_targets(targets)
        _notify_mentioned(activity, actor, activity.mentions)
    return activity


def activity_update(
    activity: Activity,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    links: Sequence[TargetLike] | None = None,
    attendee_users: Sequence[int] | None = None,
    attendee_contacts: Sequence[int] | None = None,
    mentions: Sequence[int] | None = None,
    expected_version: int | None = None,
) -> Activity:
    """Change an activity. ``links``, ``attendee_users`` and ``attendee_contacts`` given
    replace the activity's; ``None`` leaves them. Newly mentioned users are notified."""
    require(actor.user, "edit", activity)
    if activity.is_deleted:
        raise Http404
    values = dict(values or {})
    errors: Errors = {}
    if values.get("kind", activity.kind) != activity.kind:
        errors["kind"] = [_("The kind of an activity cannot change; log a new one.")]
    values.pop("kind", None)
    _refuse_protected(values, errors)
    _refuse_rewriting_email(activity, values, errors)
    values.pop("mentions", None)
    old_targets = link_targets(activity)
    targets = old_targets
    if links is not None:
        targets, link_errors = resolve_targets(actor.user, links)
        errors |= link_errors
        # Links to records the actor cannot see stay: they could not have named them.
        hidden = set(old_targets) - set(visible_records(actor.user, old_targets))
        targets = sorted(set(targets) | hidden)
    old_users, old_contacts = attendee_ids(activity)
    users = old_users
    if attendee_users is not None:
        users = [user.pk for user in _active_users(attendee_users, "attendee_users", errors)]
    contacts = _replaced_contacts(actor.user, old_contacts, attendee_contacts, errors)
    _check_attendees(activity.kind, users, contacts, errors)
    resolve_owner_and_team(values, activity, errors)
    if "body" in values or mentions is not None:
        body = values.get("body", activity.body)
        values["mentions"] = _mention_ids(activity.kind, body, mentions, errors)
    errors |= {
        k: v for k, v in _model_errors(activity, values, creating=False).items() if k not in errors
    }
    if errors:
        raise ValidationError(errors)
    targets = sorted(set(targets) | {Target(CONTACT_TYPE, pk) for pk in contacts})
    changes: dict[str, list[Any]] = {}
    if set(old_targets) != set(targets):
        changes["links"] = [_describe(old_targets), _describe(targets)]
    if (old_users, old_contacts) != (users, contacts):
        changes["attendees"] = [
            {"users": old_users, "contacts": old_contacts},
            {"users": users, "contacts": contacts},
        ]
    with transaction.atomic():
        before_mentions = set(activity.mentions)
        activity = record_update(
            activity, actor=actor, values=values, expected_version=expected_version
        )
        _write_links(activity, targets)
        if "attendees" in changes:
            _write_attendees(activity, users, contacts)
        if changes:
            _record_relation_changes(activity, actor, changes)
        refresh_targets({*old_targets, *targets})
        _notify_mentioned(activity, actor, set(activity.mentions) - before_mentions)
    return activity


def _record_relation_changes(
    activity: Activity, actor: Actor, changes: dict[str, list[Any]]
) -> None:
    """Links and attendees are rows of their own, which ``record_update`` does not see:
    their change is an edit of the activity with its own version, audit entry and event."""
    Activity.all_objects.filter(pk=activity.pk).update(version=F("version") + 1)
    activity.version += 1
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=activity, changes=changes)
    emit(event_name(activity, "updated"), obj=activity, actor=actor, payload={"changes": changes})


def activity_delete(
    activity: Activity, *, actor: Actor, expected_version: int | None = None
) -> Activity:
    """Move an activity to the trash; it leaves its records' timelines until restored."""
    with transaction.atomic():
        activity = record_delete(activity, actor=actor, expected_version=expected_version)
        refresh_targets(link_targets(activity))
    return activity
