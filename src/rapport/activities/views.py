"""The timeline panel of every record page, its htmx endpoints (older pages, the kind
filter, the inline forms, the @mention suggestions) and an activity's own page.
Thin: read through ``core.timeline`` and ``activities.queries``, write through
``activities.services``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from rapport.accounts.models import User
from rapport.activities import queries, services
from rapport.activities.engagement import FIELDS, tracks_engagement
from rapport.activities.forms import FORMS, ActivityForm, NoteForm
from rapport.activities.links import is_linkable
from rapport.activities.models import Activity, ActivityKind
from rapport.contacts.models import Contact
from rapport.core import timeline
from rapport.core.actors import Actor
from rapport.core.forms import apply_field_rules
from rapport.core.permissions import can, can_create, get_visible_or_404, object_type
from rapport.core.registry import record_model

MENTION_SUGGESTIONS = 8
FORM_TITLES = {
    ActivityKind.NOTE: gettext_lazy("Add a note"),
    ActivityKind.CALL: gettext_lazy("Log a call"),
    ActivityKind.MEETING: gettext_lazy("Log a meeting"),
}
SUBMIT_LABELS = {
    ActivityKind.NOTE: gettext_lazy("Add note"),
    ActivityKind.CALL: gettext_lazy("Log call"),
    ActivityKind.MEETING: gettext_lazy("Log meeting"),
}


def _record(request: HttpRequest, label: str, pk: int) -> models.Model:
    """The record a timeline URL names, if it has a timeline and the user may see it."""
    model = record_model(label)
    if not is_linkable(model):
        raise Http404
    return get_visible_or_404(model.objects.all(), request.user, pk=pk)


def _kinds(model: type[models.Model], values: Iterable[str]) -> set[str] | None:
    """The kinds the filter asks for (``None``: all); 400 for a kind the timeline lacks."""
    wanted = {value for value in values if value}
    if not wanted:
        return None
    known = {value for value, _label in timeline.kind_choices(model)}
    if wanted - known:
        raise BadRequest("unknown kind")
    return wanted


def _timeline_url(record: models.Model) -> str:
    return reverse("activities:timeline", args=[object_type(record), record.pk])


def _more_url(record: models.Model, page: timeline.TimelinePage, kinds: set[str] | None) -> str:
    if page.next_cursor is None:
        return ""
    query = urlencode({"cursor": page.next_cursor, "kind": sorted(kinds or [])}, doseq=True)
    return f"{_timeline_url(record)}?{query}"


def _items_context(
    request: HttpRequest, record: models.Model, kinds: set[str] | None, cursor: str | None = None
) -> dict[str, Any]:
    page = timeline.page(request.user, record, cursor=cursor, kinds=kinds)
    return {
        "record": record,
        "page": page,
        "continued": bool(cursor),
        "more_url": _more_url(record, page, kinds),
    }


def _form(form_class: type[ActivityForm], user: User, data: Any = None) -> ActivityForm:
    """The form of one kind of activity, without the fields ``user``'s role hides and
    with the read-only ones disabled."""
    if form_class is NoteForm:
        form = form_class(data, mentions_url=reverse("activities:mention_options"))
    else:
        form = form_class(data)
    return apply_field_rules(form, user, Activity)


def _log_url(record: models.Model, kind: str) -> str:
    return reverse(
        "activities:log",
        kwargs={"kind": kind, "object_type": object_type(record), "object_id": record.pk},
    )


def _form_context(record: models.Model, form: ActivityForm, *, saved: bool = False) -> dict:
    return {
        "record": record,
        "form": form,
        "url": _log_url(record, form.kind),
        "title": FORM_TITLES[form.kind],
        "submit_label": SUBMIT_LABELS[form.kind],
        "saved": saved,
    }


# The panel on every record page


def timeline_panel(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    """The panel's context: the kind filter and, for users who may log activities, what
    opens each inline form. The first page of items and each form are fetched by the
    panel once the page is shown (htmx): the record's page does not wait for them."""
    forms = []
    if can_create(request.user, Activity):
        forms = [{"title": FORM_TITLES[kind], "url": _log_url(record, kind)} for kind in FORMS]
    return {
        "record": record,
        "forms": forms,
        "timeline_url": _timeline_url(record),
        "kind_choices": timeline.kind_choices(type(record)),
    }


@login_required
def timeline_items(request: HttpRequest, object_type: str, object_id: int) -> HttpResponse:
    """A page of the timeline's items: the next one (``cursor``, the infinite scroll) or
    the first one of the kinds chosen in the filter."""
    record = _record(request, object_type, object_id)
    kinds = _kinds(type(record), request.GET.getlist("kind"))
    context = _items_context(request, record, kinds, request.GET.get("cursor") or None)
    return render(request, "activities/_timeline_items.html", context)


# The inline forms


def engagement_html(request: HttpRequest, record: models.Model) -> str:
    """The record's last contacted and next activity dates, re-read, for the page header
    to swap in: rendered by ``<app>/_engagement.html`` when the record's app has one."""
    if not tracks_engagement(type(record)):
        return ""
    try:
        template = get_template(f"{record._meta.app_label}/_engagement.html")
    except TemplateDoesNotExist:
        return ""
    record.refresh_from_db(fields=FIELDS)
    return template.render({"record": record, "oob": True}, request)


def _logged(
    request: HttpRequest, record: models.Model, form_class: type[ActivityForm]
) -> HttpResponse:
    """The blank form again, the timeline's first page (of the kinds its filter shows) and
    the record's dates: the activity is saved, so a bad filter value just shows all."""
    try:
        kinds = _kinds(type(record), request.POST.getlist("kind"))
    except BadRequest:
        kinds = None
    context = _form_context(record, _form(form_class, request.user), saved=True)
    context |= _items_context(request, record, kinds)
    context["engagement"] = engagement_html(request, record)
    return render(request, "activities/_logged.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def log_activity(request: HttpRequest, kind: str, object_type: str, object_id: int) -> HttpResponse:
    """Log a note, call or meeting on a record from its timeline. GET: the blank form.
    POST with htmx: the form again (blank, or with its errors) and the timeline's first
    page; without: back to the page."""
    record = _record(request, object_type, object_id)
    form_class = FORMS.get(kind)
    if form_class is None:
        raise Http404
    if not can_create(request.user, Activity):
        raise PermissionDenied
    form = _form(form_class, request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        if kind == ActivityKind.MEETING and isinstance(record, Contact):
            arguments["attendee_contacts"] = [record.pk]
        try:
            services.activity_create(
                actor=Actor.for_request(request), kind=kind, links=[record], **arguments
            )
        except ValidationError as error:
            form.apply_errors(error)
        else:
            if request.htmx:
                return _logged(request, record, form_class)
            messages.success(request, _("Saved to the timeline."))
            return redirect(record.get_absolute_url())
    context = _form_context(record, form)
    if request.htmx:
        return render(request, "activities/_log_form.html", context)
    return render(request, "activities/log_page.html", context)


@login_required
def mention_options(request: HttpRequest) -> HttpResponse:
    """Colleagues whose user name, first or last name or email starts with ``q``."""
    text = request.GET.get("q", "").strip()[:50]
    users = User.objects.filter(is_active=True)
    if text:
        users = users.filter(
            Q(username__istartswith=text)
            | Q(first_name__istartswith=text)
            | Q(last_name__istartswith=text)
            | Q(email__istartswith=text)
        )
    users = users.order_by("first_name", "last_name", "email")[:MENTION_SUGGESTIONS]
    return render(request, "activities/_mention_options.html", {"users": users})


# An activity's page


def _visible_activity(request: HttpRequest, pk: int) -> Activity:
    return get_visible_or_404(queries.with_details(Activity.objects.all()), request.user, pk=pk)


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _visible_activity(request, pk)
    queries.attach_other_records([activity], request.user)
    contact_ids = [a.contact_id for a in activity.attendees.all() if a.contact_id is not None]
    context = {
        "activity": activity,
        "user_attendees": [a.user for a in activity.attendees.all() if a.user is not None],
        "contact_attendees": [
            record
            for record in activity.other_records
            if isinstance(record, Contact) and record.pk in contact_ids
        ],
        "mentioned": User.objects.filter(pk__in=activity.mentions),
        "can_delete": can(request.user, "delete", activity),
    }
    return render(request, "activities/activity_detail.html", context)


@login_required
@require_POST
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _visible_activity(request, pk)
    queries.attach_other_records([activity], request.user)
    services.activity_delete(activity, actor=Actor.for_request(request))
    messages.success(
        request,
        _("“%(name)s” is in the trash. You can restore it from there.") % {"name": activity},
    )
    shown_on = activity.other_records[0] if activity.other_records else None
    return redirect(shown_on.get_absolute_url() if shown_on else "web:home")
