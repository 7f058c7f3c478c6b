"""The calendar's verbs: a user's feed token, and importing an ``.ics`` file's events
as meetings.

Feed: the token is random, shown once, and only its SHA-256 digest is kept (as
for API tokens). Regenerating revokes the old token in the same transaction;
a revoked or unknown token, or one of a deactivated user, names no feed.

Import: each event becomes a meeting through ``activities.services.
activity_create`` (so the create grant, validation, audit, events and the
linked records' dates are the activities app's), owned by the importer, with
the attendees whose addresses are colleagues or contacts the importer may see,
linked to those contacts and, if chosen, to one more record. Each event is its
own transaction: one that fails leaves the others created and itself nothing.
The event's UID is remembered per importer, so importing the same file again
creates nothing new.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import User
from rapport.accounts.tokens import digest_of
from rapport.activities.links import Target, TargetLike, resolve_targets
from rapport.activities.models import MAX_BODY_CHARS, Activity, ActivityKind
from rapport.activities.services import CONTACT_TYPE, activity_create
from rapport.calendar.ics import ParsedEvent
from rapport.calendar.models import CalendarFeed, ImportedEvent
from rapport.calendar.queries import contacts_by_email, users_by_email
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.models import AuditAction
from rapport.core.permissions import can_create

# Writing last_used_at on every poll of every subscribed calendar would turn reads into writes.
FEED_LAST_USED_RESOLUTION = datetime.timedelta(hours=1)
MAX_TOKEN_CHARS = 100


# The feed


def active_feed(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def _revoke(feed: CalendarFeed, actor: Actor, now: datetime.datetime) -> None:
    feed.revoked_at = now
    feed.save(update_fields=["revoked_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=feed,
        changes={"revoked_at": [None, now.isoformat()]},
    )


def feed_create(*, actor: Actor) -> str:
    """Give ``actor.user`` a new feed token, revoking the one they had; returns the token
    (to show once)."""
    if actor.user is None:
        raise PermissionDenied
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        # One feed creation per user at a time: the second waits, then revokes the first.
        User.objects.select_for_update().filter(pk=actor.user.pk).first()
        current = active_feed(actor.user)
        if current is not None:
            _revoke(current, actor, now)
        feed = CalendarFeed.objects.create(user=actor.user, digest=digest_of(raw), created_at=now)
        audit_log(actor=actor, action=AuditAction.CREATE, obj=feed)
    return raw


def feed_revoke(*, actor: Actor) -> bool:
    """Turn ``actor.user``'s feed off; whether they had one."""
    if actor.user is None:
        raise PermissionDenied
    with transaction.atomic():
        current = active_feed(actor.user)
        if current is None:
            return False
        _revoke(current, actor, timezone.now())
    return True


def feed_user(raw: str) -> User | None:
    """The active user whose feed ``raw`` opens, or ``None``."""
    if not raw or len(raw) > MAX_TOKEN_CHARS:
        return None
    feed = (
        CalendarFeed.objects.select_related("user", "user__role")
        .filter(digest=digest_of(raw), revoked_at__isnull=True)
        .first()
    )
    if feed is None or not feed.user.is_active:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at >= FEED_LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


# Import


class Outcome(TextChoices):
    CREATED = "created", gettext_lazy("Created")
    SKIPPED = "skipped", gettext_lazy("Skipped")
    FAILED = "failed", gettext_lazy("Failed")


@dataclass(frozen=True)
class EventResult:
    event: ParsedEvent
    outcome: Outcome
    message: str = ""
    activity_id: int | None = None


def _values(event: ParsedEvent) -> dict:
    subject_max = Activity._meta.get_field("subject").max_length
    location_max = Activity._meta.get_field("location").max_length
    return {
        "subject": event.summary[:subject_max],
        "body": event.description[:MAX_BODY_CHARS],
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "location": event.location[:location_max],
    }


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


def _check_link(actor: Actor, also_link: TargetLike | None) -> Target | None:
    if also_link is None:
        return None
    targets, errors = resolve_targets(actor.user, [also_link], field="link_to")
    if errors:
        raise ValidationError({"link_to": [m for messages in errors.values() for m in messages]})
    return targets[0]


def ics_import(
    *,
    actor: Actor,
    events: Sequence[ParsedEvent],
    also_link: TargetLike | None = None,
) -> list[EventResult]:
    """Create a meeting for each event of ``events`` not imported by ``actor.user`` before;
    a result per event, in order. ``also_link`` (a record the actor may see) is linked to
    every meeting, besides the contacts found among its attendees."""
    if actor.user is None or not can_create(actor.user, Activity):
        raise PermissionDenied
    link = _check_link(actor, also_link)
    emails = {email for event in events for email in event.emails}
    contacts = contacts_by_email(actor.user, emails)
    users = users_by_email(emails)
    imported = dict(
        ImportedEvent.objects.filter(
            user=actor.user, uid_digest__in=[event.uid_digest for event in events]
        ).values_list("uid_digest", "activity_id")
    )
    results = []
    for event in events:
        result = _skip_or_fail(event, imported)
        if result is None:
            result = _import_one(actor, event, contacts, users, link)
            if result.activity_id is not None:
                imported[event.uid_digest] = result.activity_id
        results.append(result)
    return results


def _skip_or_fail(event: ParsedEvent, imported: dict[str, int]) -> EventResult | None:
    if event.error:
        return EventResult(event, Outcome.FAILED, event.error)
    if event.skip:
        return EventResult(event, Outcome.SKIPPED, event.skip)
    if event.uid_digest in imported:
        return EventResult(
            event, Outcome.SKIPPED, _("Already imported."), imported[event.uid_digest]
        )
    return None


def _import_one(
    actor: Actor,
    event: ParsedEvent,
    contacts: dict[str, Contact],
    users: dict[str, User],
    link: Target | None,
) -> EventResult:
    attendee_contacts = list(dict.fromkeys(contacts[e].pk for e in event.emails if e in contacts))
    attendee_users = list(dict.fromkeys(users[e].pk for e in event.emails if e in users))
    if not attendee_contacts and link is None:
        return EventResult(
            event,
            Outcome.FAILED,
            _("No contact you can see attends it: choose a record to link it to."),
        )
    links = [Target(CONTACT_TYPE, pk) for pk in attendee_contacts] + ([link] if link else [])
    try:
        with transaction.atomic():
            activity = activity_create(
                actor=actor,
                kind=ActivityKind.MEETING,
                links=links,
                values=_values(event),
                attendee_users=attendee_users,
                attendee_contacts=attendee_contacts,
            )
            ImportedEvent.objects.create(
                user=actor.user, uid_digest=event.uid_digest, uid=event.uid, activity=activity
            )
    except ValidationError as error:
        return EventResult(event, Outcome.FAILED, _messages(error))
    except IntegrityError:
        # The same event imported at the same moment by another request.
        return EventResult(event, Outcome.SKIPPED, _("Already imported."))
    return EventResult(event, Outcome.CREATED, activity_id=activity.pk)
