"""Calendar pages: the agenda, the week, a meeting's ``.ics``, the personal feed (and
the page that manages it), and the ``.ics`` import. Thin: read through
``calendar.queries``, write through ``calendar.services``."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Iterable

import icalendar
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from rapport.accounts.models import User
from rapport.activities.links import Target, visible_records
from rapport.activities.models import Activity, ActivityKind
from rapport.calendar import ics, queries, services
from rapport.calendar.forms import IcsUploadForm, ImportConfirmForm
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.models import Source
from rapport.core.permissions import can_create, get_visible_or_404, object_type
from rapport.tasks.models import Task
from rapport.tasks.services import RecordRef

AGENDA_DAYS = 14
# Dates the pages accept, so that moving a window never leaves what a date can hold.
FIRST_DATE = datetime.date(1900, 1, 1)
LAST_DATE = datetime.date(2199, 12, 31)
ISO_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
NEW_FEED_SESSION_KEY = "calendar:new_feed"
IMPORT_SESSION_KEY = "calendar:import"


# Dates in the query string


def _checked(date: datetime.date) -> datetime.date:
    if not FIRST_DATE <= date <= LAST_DATE:
        raise BadRequest("date out of range")
    return date


def _date_param(raw: str | None) -> datetime.date | None:
    if not raw:
        return None
    try:
        return _checked(datetime.date.fromisoformat(raw))
    except ValueError:
        raise BadRequest("not a date") from None


def _week_param(raw: str | None) -> datetime.date | None:
    """``2025-W07`` → the Monday of that ISO week."""
    if not raw:
        return None
    match = ISO_WEEK.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return _checked(datetime.date.fromisocalendar(int(match[1]), int(match[2]), 1))
    except ValueError:
        raise BadRequest("not an ISO week") from None


def _iso_week(day: datetime.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


# The agenda and the week


@login_required
def agenda(request: HttpRequest) -> HttpResponse:
    """My meetings and open tasks of ``AGENDA_DAYS`` days from ``start`` (today), by day;
    the days with nothing are left out."""
    today = timezone.localdate()
    first = _date_param(request.GET.get("start")) or today
    last = _checked(first + datetime.timedelta(days=AGENDA_DAYS - 1))
    days = queries.days_between(
        request.user, first, last, timezone.get_current_timezone(), today=today, keep_empty=False
    )
    context = {
        "view": "agenda",
        "days": days,
        "first": first,
        "last": last,
        "earlier": first - datetime.timedelta(days=AGENDA_DAYS),
        "later": last + datetime.timedelta(days=1),
        "is_current": first == today,
    }
    return render(request, "calendar/agenda.html", context)


@login_required
def week(request: HttpRequest) -> HttpResponse:
    """The seven days, Monday first, of ``week`` (``2025-W07``) or of the week holding
    ``date``; this week by default."""
    today = timezone.localdate()
    day = _week_param(request.GET.get("week")) or _date_param(request.GET.get("date")) or today
    monday = _checked(day - datetime.timedelta(days=day.weekday()))
    sunday = _checked(monday + datetime.timedelta(days=6))
    days = queries.days_between(
        request.user, monday, sunday, timezone.get_current_timezone(), today=today, keep_empty=True
    )
    context = {
        "view": "week",
        "days": days,
        "first": monday,
        "last": sunday,
        "week_label": _iso_week(monday),
        "previous_week": _iso_week(monday - datetime.timedelta(days=7)),
        "next_week": _iso_week(monday + datetime.timedelta(days=7)),
        "is_current": monday <= today <= sunday,
    }
    return render(request, "calendar/week.html", context)


# iCalendar out


def _meeting_events(user: User, meetings: list[Activity]) -> list[icalendar.Event]:
    """``meetings`` (their attendees prefetched) as VEVENTs, naming only the contact
    attendees ``user`` may see. One query for those, whatever the number of meetings."""
    attendees = {meeting.pk: list(meeting.attendees.all()) for meeting in meetings}
    contact_ids = {a.contact_id for rows in attendees.values() for a in rows if a.contact_id}
    visible = queries.visible_contact_ids(user, contact_ids)
    return [
        ics.meeting_event(
            meeting,
            user_attendees=[a.user for a in attendees[meeting.pk] if a.user_id],
            contact_attendees=[a.contact for a in attendees[meeting.pk] if a.contact_id in visible],
        )
        for meeting in meetings
    ]


def _task_events(tasks: Iterable[Task], tz: datetime.tzinfo) -> list[icalendar.Event]:
    events = []
    for task in tasks:
        item = queries.task_item(task, tz)
        events.append(
            ics.task_event(task, all_day=item.all_day, day=task.due_at.astimezone(tz).date())
        )
    return events


def _ics_response(body: bytes, filename: str, *, download: bool) -> HttpResponse:
    response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@login_required
@require_safe
def meeting_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One meeting as an ``.ics`` file to add to another calendar; 404 when hidden."""
    meetings = (
        Activity.objects.filter(kind=ActivityKind.MEETING)
        .select_related("owner")
        .prefetch_related("attendees__user", "attendees__contact")
    )
    meeting = get_visible_or_404(meetings, request.user, pk=pk)
    body = ics.calendar_bytes(_meeting_events(request.user, [meeting]))
    return _ics_response(body, f"meeting-{meeting.pk}.ics", download=True)


def _zone_of(user: User) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _feed_not_found() -> HttpResponse:
    response = HttpResponseNotFound(b"", content_type="text/plain")
    # The URL holds a token: keep it out of django.request's "Not Found: <path>" warning.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A user's meetings and open tasks for calendar apps to subscribe to: no session,
    the secret token is the key. 404 for a revoked or unknown token, or an inactive user;
    what shows is what the user may see now."""
    user = services.feed_user(token)
    if user is None:
        return _feed_not_found()
    tz = _zone_of(user)
    with timezone.override(tz), translation.override(user.language):
        meetings, tasks = queries.feed_items(user, timezone.now())
        events = _meeting_events(user, meetings) + _task_events(tasks, tz)
        body = ics.calendar_bytes(events, name=_("Rapport: %(name)s") % {"name": user})
    response = _ics_response(body, "rapport.ics", download=False)
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


# Managing the feed


def feed_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("calendar:feed", args=[token]))


@login_required
def subscribe(request: HttpRequest) -> HttpResponse:
    """The feed's page: its URL just after it was made, else whether there is one."""
    new_url = request.session.pop(NEW_FEED_SESSION_KEY, None)
    context = {
        "feed": services.active_feed(request.user),
        "new_url": new_url,
        "webcal_url": re.sub(r"^https?://", "webcal://", new_url) if new_url else "",
    }
    return render(request, "calendar/subscribe.html", context)


@login_required
@require_POST
def feed_create(request: HttpRequest) -> HttpResponse:
    token = services.feed_create(actor=Actor.for_request(request))
    request.session[NEW_FEED_SESSION_KEY] = feed_url(request, token)
    return redirect("calendar:subscribe")


@login_required
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    if services.feed_revoke(actor=Actor.for_request(request)):
        messages.success(request, _("Your calendar feed is turned off; its URL no longer works."))
    return redirect("calendar:subscribe")


# Import


def _require_create(request: HttpRequest) -> None:
    if not can_create(request.user, Activity):
        raise PermissionDenied


def _visible_record(request: HttpRequest, raw: str | None) -> models.Model | None:
    """The record ``contacts.contact:42`` names; 404 if the user may not see it."""
    if not raw:
        return None
    try:
        ref = RecordRef.parse(raw)
    except ValueError:
        raise BadRequest("not a record") from None
    target = Target(ref.object_type, ref.object_id)
    record = visible_records(request.user, [target]).get(target)
    if record is None:
        raise Http404
    return record


def _ref(record: models.Model) -> str:
    return f"{object_type(record)}:{record.pk}"


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """Choose an ``.ics`` file; once it reads, its events are reviewed before anything is
    created. ``?record=`` names a record to link the meetings to."""
    _require_create(request)
    record = _visible_record(request, request.GET.get("record"))
    form = IcsUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        tz=timezone.get_current_timezone(),
    )
    if form.is_valid():
        request.session[IMPORT_SESSION_KEY] = {
            "text": form.cleaned_data["file"],
            "name": request.FILES["file"].name[:200],
            "record": _ref(record) if record else "",
        }
        return redirect("calendar:import_review")
    return render(request, "calendar/import_upload.html", {"form": form, "record": record})


def _chosen_link(user: User, form: ImportConfirmForm) -> Target | None:
    """The record the form names; ``None`` with a form error when the email names none."""
    if form.cleaned_data["link_to"]:
        ref = RecordRef.parse(form.cleaned_data["link_to"])
        return Target(ref.object_type, ref.object_id)
    email = form.cleaned_data["contact_email"]
    if not email:
        return None
    contact = queries.contacts_by_email(user, [email]).get(email.lower())
    if contact is None:
        form.add_error("contact_email", _("No contact you can see has this email address."))
        return None
    return Target.of(contact)


def _pending_events(request: HttpRequest) -> tuple[dict, list[ics.ParsedEvent]] | None:
    pending = request.session.get(IMPORT_SESSION_KEY)
    if not pending:
        return None
    try:
        events = ics.parse_events(pending["text"].encode(), tz=timezone.get_current_timezone())
    except ics.IcsError:
        return None
    return pending, events


@login_required
def import_review(request: HttpRequest) -> HttpResponse:
    """The events found, and who of their people are colleagues or contacts; on POST,
    the meetings are created and a result per event shown."""
    _require_create(request)
    found = _pending_events(request)
    if found is None:
        messages.info(request, _("Choose a calendar file to import first."))
        return redirect("calendar:import_upload")
    pending, events = found
    record = _visible_record(request, pending.get("record"))
    rows = queries.review_rows(request.user, events)
    candidates = queries.link_candidates(request.user, record, rows)
    form = ImportConfirmForm(
        request.POST if request.method == "POST" else None,
        choices=[(_ref(r), f"{r} ({r._meta.verbose_name})") for r in candidates],
        initial={"link_to": _ref(record) if record else ""},
    )
    if form.is_valid():
        link = _chosen_link(request.user, form)
        if not form.errors:
            try:
                results = services.ics_import(
                    actor=Actor.for_request(request, Source.IMPORT),
                    events=events,
                    also_link=link,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                del request.session[IMPORT_SESSION_KEY]
                return _report(request, pending["name"], results)
    context = {"rows": rows, "form": form, "file_name": pending["name"], "record": record}
    return render(request, "calendar/import_review.html", context)


def _report(
    request: HttpRequest, file_name: str, results: list[services.EventResult]
) -> HttpResponse:
    counts = {outcome: 0 for outcome in services.Outcome}
    for result in results:
        counts[result.outcome] += 1
    context = {
        "file_name": file_name,
        "results": results,
        "created": counts[services.Outcome.CREATED],
        "skipped": counts[services.Outcome.SKIPPED],
        "failed": counts[services.Outcome.FAILED],
    }
    return render(request, "calendar/import_report.html", context)
