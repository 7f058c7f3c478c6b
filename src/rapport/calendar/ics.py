"""iCalendar (RFC 5545) in and out, through the ``icalendar`` package; no database here.

Out: a meeting is a VEVENT whose UID (``activity-<id>@<host>``) never changes,
with its times in UTC and ``SEQUENCE`` set to the activity's version, so a
calendar that imported it once updates it in place. A task is a VEVENT too, at
its due time (an all-day event when it is due on a day without a time):
Google Calendar and Apple Calendar show VEVENTs of a subscribed feed, while
VTODOs are ignored by Google and shown by Apple only in Reminders.

In: ``parse_events`` reads the VEVENTs of a file into ``ParsedEvent`` values,
each either importable or carrying the reason it is not. Times with a TZID are
read in that zone (an IANA name, a Windows name or the file's own VTIMEZONE);
floating times, all-day dates and unknown zones are read in the importing
user's zone. A repeating event becomes one meeting, its first occurrence.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from rapport.accounts.models import User
    from rapport.activities.models import Activity
    from rapport.contacts.models import Contact
    from rapport.tasks.models import Task

PRODID = "-//Rapport//Rapport CRM//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# How often a subscribed calendar should fetch the feed again (Apple and Outlook read it).
FEED_TTL = "PT1H"
# Each event costs a meeting write (about 25 ms), all within the request: 300 stay well
# under a proxy's usual 30-second limit.
MAX_EVENTS = 300
TASK_PRIORITIES = {"urgent": 1, "high": 3, "normal": 5, "low": 9}
UTC = datetime.UTC


# Out


def uid_host() -> str:
    """The host part of the UIDs Rapport gives events: the site's, so it stays the same
    whichever name a request came in by."""
    return urlsplit(settings.SITE_URL).hostname or "rapport"


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _address(email: str, name: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    return address


def _description(text: str, url: str) -> str:
    return f"{text.strip()}\n\n{url}" if text.strip() else url


def meeting_event(
    activity: Activity, *, user_attendees: Iterable[User], contact_attendees: Iterable[Contact]
) -> icalendar.Event:
    """A meeting as a VEVENT. ``contact_attendees`` are the contacts the reader may see."""
    url = site_url(activity.get_absolute_url())
    attendees = [_address(user.email, str(user)) for user in user_attendees if user.email]
    attendees += [
        _address(contact.email, contact.full_name) for contact in contact_attendees if contact.email
    ]
    owner = activity.owner
    event = icalendar.Event.new(
        uid=f"activity-{activity.pk}@{uid_host()}",
        stamp=activity.updated_at,
        created=activity.created_at,
        last_modified=activity.updated_at,
        sequence=activity.version,
        start=activity.starts_at.astimezone(UTC),
        summary=activity.subject or str(activity),
        description=_description(activity.body, url),
        location=activity.location or None,
        organizer=_address(owner.email, str(owner)) if owner and owner.email else None,
        attendees=attendees or None,
        url=url,
    )
    if activity.ends_at:
        event.end = activity.ends_at.astimezone(UTC)
    return event


def task_event(task: Task, *, all_day: bool, day: datetime.date) -> icalendar.Event:
    """An open task as a VEVENT at its due time, or all day on ``day`` when ``all_day``."""
    url = site_url(task.get_absolute_url())
    event = icalendar.Event.new(
        uid=f"task-{task.pk}@{uid_host()}",
        stamp=task.updated_at,
        created=task.created_at,
        last_modified=task.updated_at,
        sequence=task.version,
        start=day if all_day else task.due_at.astimezone(UTC),
        summary=_("Task: %(title)s") % {"title": task.title},
        description=_description(task.description, url),
        priority=TASK_PRIORITIES.get(task.priority),
        url=url,
    )
    if all_day:
        event.end = day + datetime.timedelta(days=1)
    return event


def calendar_bytes(events: Iterable[icalendar.Event], *, name: str | None = None) -> bytes:
    """A VCALENDAR of ``events``, as the bytes of an ``.ics`` file."""
    calendar = icalendar.Calendar.new(
        prodid=PRODID, method="PUBLISH", name=name, subcomponents=list(events)
    )
    if name:
        calendar.add("X-PUBLISHED-TTL", FEED_TTL)
    return calendar.to_ical()


# In


class IcsError(ValueError):
    """A file that cannot be read as iCalendar events; the message is for the user."""


@dataclass(frozen=True)
class ParsedEvent:
    """One VEVENT of an imported file. ``notes`` say what was changed to import it,
    ``error`` why it cannot become a meeting, ``skip`` why it should not."""

    position: int
    uid: str
    summary: str
    description: str = ""
    location: str = ""
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    all_day: bool = False
    organizer: str = ""
    attendees: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    error: str = ""
    skip: str = ""

    @property
    def uid_digest(self) -> str:
        return hashlib.sha256(self.uid.encode()).hexdigest()

    @property
    def emails(self) -> list[str]:
        """The organizer's and the attendees' addresses, each once."""
        return list(dict.fromkeys(e for e in (self.organizer, *self.attendees) if e))


def parse_events(data: bytes, *, tz: datetime.tzinfo) -> list[ParsedEvent]:
    """The VEVENTs of ``data`` in file order; ``IcsError`` when it is not iCalendar, has
    no events or has too many."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IcsError(_("The file is not UTF-8 text, as iCalendar files are.")) from None
    try:
        components = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception:
        # Damaged input makes icalendar raise more than ValueError (AttributeError on a
        # broken VTIMEZONE, OSError for a TZID naming a folder of the zone database…):
        # whatever it raises, the file is unreadable, which the user is told.
        raise IcsError(
            _("This is not an iCalendar (.ics) file, or it is damaged: it could not be read.")
        ) from None
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if not calendars:
        raise IcsError(_("This file holds no complete calendar (BEGIN:VCALENDAR … END:VCALENDAR)."))
    vevents = [event for calendar in calendars for event in calendar.walk("VEVENT")]
    if not vevents:
        raise IcsError(_("This calendar has no events."))
    if len(vevents) > MAX_EVENTS:
        raise IcsError(
            _("This calendar has %(count)d events; import at most %(max)d at a time.")
            % {"count": len(vevents), "max": MAX_EVENTS}
        )
    return [_parse_event(position, event, tz) for position, event in enumerate(vevents, 1)]


def _text(component: icalendar.Event, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):  # a property given twice: the first one counts
        value = value[0] if value else ""
    return str(value or "").strip()


def _email(address: Any) -> str:
    """``mailto:Ann@Example.com`` → ``ann@example.com``; empty for anything else."""
    value = str(address or "").strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    value = value.strip().lower()
    return value if "@" in value and " " not in value else ""


def _addresses(component: icalendar.Event, name: str) -> list[str]:
    values = component.get(name) or []
    if not isinstance(values, list):
        values = [values]
    return [email for email in map(_email, values) if email]


@dataclass
class _Times:
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    all_day: bool
    notes: list[str] = field(default_factory=list)


def _instant(
    value: datetime.date, tz: datetime.tzinfo, tzid: str | None, notes: list[str]
) -> datetime.datetime:
    """A DTSTART/DTEND value as an aware datetime: a date is midnight in ``tz``."""
    if not isinstance(value, datetime.datetime):
        return datetime.datetime.combine(value, datetime.time(), tzinfo=tz).astimezone(UTC)
    if value.tzinfo is None:
        if tzid:
            message = _("Unknown time zone “%(zone)s”: read in your time zone.") % {"zone": tzid}
            if message not in notes:
                notes.append(message)
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _times(component: icalendar.Event, tz: datetime.tzinfo) -> _Times:
    """The event's start and end; ``ValueError`` when its start is missing or broken."""
    start = component.start
    has_end = "DTEND" in component or "DURATION" in component
    end = component.end if has_end or not isinstance(start, datetime.datetime) else None
    notes: list[str] = []
    starts_at = _instant(start, tz, component["DTSTART"].params.get("TZID"), notes)
    ends_at = None
    if end is not None:
        tzid = component["DTEND"].params.get("TZID") if "DTEND" in component else None
        ends_at = _instant(end, tz, tzid, notes)
        if ends_at <= starts_at:
            ends_at = None
    return _Times(starts_at, ends_at, not isinstance(start, datetime.datetime), notes)


def _skip_reason(component: icalendar.Event) -> str:
    if "RECURRENCE-ID" in component:
        return _("A change to one occurrence of a repeating event: not imported.")
    if _text(component, "STATUS").upper() == "CANCELLED":
        return _("Cancelled: not imported.")
    return ""


def _uid(component: icalendar.Event, start: Any) -> str:
    """The event's UID; one made of its start and summary when it has none, so that
    importing the file again still finds it."""
    uid = _text(component, "UID")
    if uid:
        return uid
    return "no-uid:" + hashlib.sha256(f"{start}|{_text(component, 'SUMMARY')}".encode()).hexdigest()


def _parse_event(position: int, component: icalendar.Event, tz: datetime.tzinfo) -> ParsedEvent:
    summary = _text(component, "SUMMARY")
    try:
        times = _times(component, tz)
    except (ValueError, TypeError, KeyError, AttributeError):
        return ParsedEvent(
            position=position,
            uid=_uid(component, component.get("DTSTART")),
            summary=summary,
            error=_("The event has no valid start time."),
        )
    notes = times.notes
    if "RRULE" in component or "RDATE" in component:
        notes.append(_("Repeats: only its first occurrence is imported."))
    return ParsedEvent(
        position=position,
        uid=_uid(component, times.starts_at.isoformat()),
        summary=summary,
        description=_text(component, "DESCRIPTION"),
        location=_text(component, "LOCATION"),
        starts_at=times.starts_at,
        ends_at=times.ends_at,
        all_day=times.all_day,
        organizer=next(iter(_addresses(component, "ORGANIZER")), ""),
        attendees=tuple(dict.fromkeys(_addresses(component, "ATTENDEE"))),
        notes=tuple(notes),
        skip=_skip_reason(component),
    )
