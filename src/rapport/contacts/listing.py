"""The company and contact list pages: filters, quick search, sort, chosen columns,
keyset pages, saved views and bulk actions, declared once for both types.

The page never counts the table: it shows "50+" when there is a next page.
Its state lives in the query string (the FilterSet's parameters plus
``columns``, ``sort`` and ``cursor``), so a saved view, a link, the API and an
export of "all rows matching the filters" read the same parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_filters.widgets import DateRangeWidget, RangeWidget

from rapport.accounts.models import User
from rapport.contacts import bulk_actions, exports, queries, services
from rapport.contacts.columns import Column, available_columns, chosen_columns, load_related
from rapport.contacts.forms import (
    SELECTION_ONLY,
    BulkAction,
    BulkActionForm,
    BulkScope,
    CompanyPicker,
    SavedViewEditForm,
    SavedViewForm,
    SavedViewQueryForm,
)
from rapport.contacts.models import Company, Contact
from rapport.core import savedviews
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.jobs import job_start
from rapport.core.models import SavedView
from rapport.core.pagination import Page, keyset_page
from rapport.core.permissions import can_create, scope

PAGE_SIZE = 50
# The quick search looks at this many of its first matches: a broad prefix ("ann" in a
# million contacts) then costs a bounded number of row lookups, and the page says so.
QUICK_SEARCH_CANDIDATES = 1000
# Parameters of the page itself; every other one is a filter.
STATE_PARAMS = frozenset({"columns", "sort", "cursor", "view", "panel"})
# ``?panel=filters``: only the filter panel's fields. The page leaves them out while the
# panel is closed and loads them when it opens: two dozen widgets with their options
# cost more to render than the page's rows.
FILTERS_PANEL = "filters"
SEARCH_PARAM = "q"
# Filters the panel leaves out: the quick search has its own box; ids come from links.
HIDDEN_FILTERS = frozenset({SEARCH_PARAM, "id"})
# Failures listed one by one in the bulk result message; past this, a count.
LISTED_FAILURES = 10
# The filters that name companies by id, and their labels as company pickers.
COMPANY_PICKERS = {"company": gettext_lazy("Company"), "parent": gettext_lazy("Parent company")}

ListQuery = Callable[..., tuple[django_filters.FilterSet, list[str]]]


@dataclass(frozen=True)
class Listing:
    """What differs between the company list and the contact list."""

    model: type[models.Model]
    query: ListQuery
    url_name: str
    create_url: str
    bulk_url: str
    save_view_url: str
    merge_url: str
    title: Promise
    create_label: Promise
    empty: Promise
    no_match: Promise
    actions: tuple[str, ...]

    @property
    def object_type(self) -> str:
        return self.model._meta.label_lower

    # ngettext of "%(count)s deal(s)" for types other than companies and contacts.
    count_text: Callable[[int], str] | None = None

    def count_label(self, count: int, shown: str) -> str:
        if self.count_text is not None:
            return self.count_text(count) % {"count": shown}
        if self.model is Company:
            return ngettext("%(count)s company", "%(count)s companies", count) % {"count": shown}
        return ngettext("%(count)s contact", "%(count)s contacts", count) % {"count": shown}


COMPANIES = Listing(
    model=Company,
    query=queries.company_list,
    url_name="contacts:company_list",
    create_url="contacts:company_create",
    bulk_url="contacts:company_bulk",
    save_view_url="contacts:company_save_view",
    merge_url="contacts:company_merge",
    title=gettext_lazy("Companies"),
    create_label=gettext_lazy("New company"),
    empty=gettext_lazy("No companies yet. Create the first one."),
    no_match=gettext_lazy("No company matches these filters."),
    actions=(
        BulkAction.ASSIGN_OWNER,
        BulkAction.ADD_TAG,
        BulkAction.REMOVE_TAG,
        BulkAction.MERGE,
        BulkAction.EXPORT,
        BulkAction.DELETE,
    ),
)
CONTACTS = Listing(
    model=Contact,
    query=queries.contact_list,
    url_name="contacts:contact_list",
    create_url="contacts:contact_create",
    bulk_url="contacts:contact_bulk",
    save_view_url="contacts:contact_save_view",
    merge_url="contacts:contact_merge",
    title=gettext_lazy("Contacts"),
    create_label=gettext_lazy("New contact"),
    empty=gettext_lazy("No contacts yet. Create the first one."),
    no_match=gettext_lazy("No contact matches these filters."),
    actions=tuple(BulkAction.values),
)
LISTINGS = {listing.object_type: listing for listing in (COMPANIES, CONTACTS)}


def register_listing(listing: Listing) -> None:
    """Serve another record type's list page, saved views and bulk actions here."""
    LISTINGS[listing.object_type] = listing


# Query string <-> saved view ----------------------------------------------------------


def filter_params(params: QueryDict) -> dict[str, str | list[str]]:
    """The filters of a query string, as a saved view stores them: one value as a
    string, several as a list, empty ones left out."""
    filters: dict[str, str | list[str]] = {}
    for name in params:
        if name in STATE_PARAMS:
            continue
        values = [value for value in params.getlist(name) if value != ""]
        if values:
            filters[name] = values[0] if len(values) == 1 else values
    return filters


def saved_view_query(view: SavedView) -> str:
    """The list page's query string of a saved view."""
    params = queries.as_query_dict(view.filters or {}).copy()
    params.setlist("columns", list(view.columns or []))
    if view.sort:
        params["sort"] = view.sort
    params["view"] = str(view.pk)
    return params.urlencode()


def saved_view_url(listing: Listing, view: SavedView) -> str:
    return f"{reverse(listing.url_name)}?{saved_view_query(view)}"


# The list page -------------------------------------------------------------------------


def _headers(columns: list[Column], sort: str) -> list[dict[str, Any]]:
    headers = []
    for column in columns:
        direction = ""
        if column.sort and sort == column.sort:
            direction = "ascending"
        elif column.sort and sort == f"-{column.sort}":
            direction = "descending"
        next_sort = f"-{column.sort}" if direction == "ascending" else column.sort
        headers.append({"column": column, "sort_value": next_sort, "direction": direction})
    return headers


def _shown(listing: Listing, count: int, has_more: bool, later_page: bool) -> str:
    """ "50+ contacts" when there are more: counting a million rows costs more than the page."""
    label = listing.count_label(count, f"{count}+" if has_more else str(count))
    return _("%(shown)s on this page") % {"shown": label} if later_page else label


def _active_view(request: HttpRequest, listing: Listing) -> SavedView | None:
    view_id = request.GET.get("view", "")
    if not view_id.isdigit():
        return None
    return savedviews.visible(request.user, listing.object_type).filter(pk=view_id).first()


def _page(
    request: HttpRequest, listing: Listing, columns: list[Column]
) -> tuple[django_filters.FilterSet, Page | None, list[str]]:
    """The filterset and this page of its rows; no page, and the errors that are not
    next to a filter field, when the parameters do not validate."""
    try:
        filterset, ordering = listing.query(
            request.user, request.GET, search_cap=QUICK_SEARCH_CANDIDATES
        )
    except queries.InvalidFilters as error:
        fields = error.filterset.form.fields
        other = [m for name, ms in error.message_dict.items() if name not in fields for m in ms]
        return error.filterset, None, other
    page = keyset_page(
        load_related(filterset.qs, columns),
        ordering=ordering,
        cursor=request.GET.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    return filterset, page, []


def _label_range_inputs(form: forms.Form) -> None:
    """Date pickers for date ranges, and a name for each end of every range: the
    field's label points at the first box only."""
    for field in form.fields.values():
        if not isinstance(field.widget, RangeWidget):
            continue
        dates = isinstance(field.widget, DateRangeWidget)
        ends = (_("from"), _("until")) if dates else (_("at least"), _("at most"))
        for widget, end in zip(field.widget.widgets, ends, strict=True):
            if dates:
                widget.input_type = "date"
            widget.attrs["aria-label"] = f"{field.label} {end}"


def _pick_companies(form: forms.Form, user: User) -> None:
    """Companies are chosen by name in the filter panel, not typed as ids."""
    for name, label in COMPANY_PICKERS.items():
        if name in form.fields:
            form.fields[name].widget = CompanyPicker(queries.visible_companies(user))
            # The bound field, made when the filters were validated, keeps its own label.
            form[name].label = label


def _scope_choices(count: int, has_more: bool) -> list[tuple[str, str]]:
    """The bulk actions' scopes, "all 50+ matching" saying how many that is."""
    shown = f"{count}+" if has_more else str(count)
    everything = ngettext(
        "The %(count)s row matching the filters",
        "All %(count)s rows matching the filters",
        count + has_more,
    )
    return [
        (BulkScope.SELECTED, BulkScope.SELECTED.label),
        (BulkScope.FILTERED, everything % {"count": shown}),
    ]


def _saved_view_entry(
    request: HttpRequest,
    listing: Listing,
    view: SavedView,
    *,
    active_id: int | None,
    form: SavedViewEditForm | None = None,
) -> dict[str, Any]:
    """A saved view as the menu lists it, with its edit form when the user may change it."""
    editable = savedviews.can_change(request.user, view)
    if editable and form is None:
        form = SavedViewEditForm(
            prefix=f"view-{view.pk}", initial={"name": view.name, "shared": view.shared}
        )
    return {
        "view": view,
        "url": saved_view_url(listing, view),
        "own": view.owner_id == request.user.pk,
        "active": view.pk == active_id,
        "editable": editable,
        "form": form if editable else None,
    }


def _saved_views(
    request: HttpRequest, listing: Listing, active: SavedView | None
) -> list[dict[str, Any]]:
    active_id = active.pk if active else None
    return [
        _saved_view_entry(request, listing, view, active_id=active_id)
        for view in savedviews.visible(request.user, listing.object_type)
    ]


def _differs(view: SavedView, params: QueryDict) -> bool:
    """Whether the page shows other filters, columns or sort than ``view`` saved."""
    return (
        filter_params(params) != (view.filters or {})
        or params.getlist("columns") != list(view.columns or [])
        or params.get("sort", "") != view.sort
    )


def _filter_panel_context(request: HttpRequest, filterset: django_filters.FilterSet) -> dict:
    form = filterset.form
    _label_range_inputs(form)
    _pick_companies(form, request.user)
    return {
        "filterset": filterset,
        "filter_fields": [field for field in form if field.name not in HIDDEN_FILTERS],
    }


def render_filter_panel(request: HttpRequest, listing: Listing) -> HttpResponse:
    try:
        filterset, _ordering = listing.query(request.user, request.GET)
    except queries.InvalidFilters as error:
        filterset = error.filterset
    context = {"listing": listing} | _filter_panel_context(request, filterset)
    return render(request, "contacts/_filters.html", context)


def render_list(request: HttpRequest, listing: Listing) -> HttpResponse:
    params = request.GET
    if params.get("panel") == FILTERS_PANEL:
        return render_filter_panel(request, listing)
    all_columns = available_columns(listing.model, request.user)
    columns = chosen_columns(all_columns, params.getlist("columns"))
    filterset, page, errors = _page(request, listing, columns)
    rows = [
        (row, [{"html": column.cell(row), "numeric": column.numeric} for column in columns])
        for row in (page.items if page else [])
    ]
    shown_keys = {column.key for column in columns}
    filters = [name for name in filter_params(params) if name != SEARCH_PARAM]
    lists = queries.visible_lists(request.user) if listing.model is Contact else None
    form = filterset.form
    active_view = _active_view(request, listing)
    bulk_form = BulkActionForm(
        actions=listing.actions, lists=lists, initial={"query": _without(params, "cursor")}
    )
    if page and "cursor" not in params:
        bulk_form.fields["scope"].choices = _scope_choices(len(rows), page.has_more)
    context = {
        "listing": listing,
        "filterset": filterset,
        "filter_errors": errors,
        "search_field": form[SEARCH_PARAM] if SEARCH_PARAM in form.fields else None,
        # Rendered with the page only when the panel opens with it (invalid filters).
        **(_filter_panel_context(request, filterset) if page is None else {}),
        "filter_panel_url": f"?{_without(params, 'cursor')}&panel={FILTERS_PANEL}",
        "filters_active": len(filters),
        "column_options": [
            {"column": column, "shown": column.key in shown_keys} for column in all_columns
        ],
        "headers": _headers(columns, filterset.sort),
        "rows": rows,
        "page": page,
        "sort": params.get("sort", ""),
        "shown": _shown(listing, len(rows), bool(page and page.has_more), "cursor" in params)
        if page
        else "",
        "search_capped": filterset.search_capped,
        "search_candidates": QUICK_SEARCH_CANDIDATES,
        "saved_views": _saved_views(request, listing, active_view),
        "active_view": active_view,
        "active_view_changed": bool(
            active_view
            and savedviews.can_change(request.user, active_view)
            and _differs(active_view, params)
        ),
        "query_form": SavedViewQueryForm(
            auto_id=False, initial={"query": _without(params, "cursor", "view")}
        ),
        "save_view_form": SavedViewForm(initial={"query": _without(params, "cursor", "view")}),
        "bulk_form": bulk_form,
        "scope_actions": " ".join(a for a in listing.actions if a not in SELECTION_ONLY),
        "can_create": can_create(request.user, listing.model),
    }
    return render(request, "contacts/list.html", context)


def _without(params: QueryDict, *names: str) -> str:
    copy = params.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    return render_list(request, COMPANIES)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return render_list(request, CONTACTS)


# Saved views ---------------------------------------------------------------------------


def save_view(request: HttpRequest, listing: Listing) -> HttpResponse:
    form = SavedViewForm(request.POST)
    back = reverse(listing.url_name)
    if not form.is_valid():
        messages.error(request, _("Give the view a name to save it."))
        return redirect(f"{back}?{form.data.get('query', '')}")
    params = QueryDict(form.cleaned_data["query"])
    try:
        view = savedviews.saved_view_create(
            actor=Actor.for_request(request),
            object_type=listing.object_type,
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
            filters=filter_params(params),
            columns=params.getlist("columns"),
            sort=params.get("sort", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{back}?{params.urlencode()}")
    messages.success(request, _("The view “%(name)s” is saved.") % {"name": view.name})
    return redirect(saved_view_url(listing, view))


@login_required
@require_POST
def company_save_view(request: HttpRequest) -> HttpResponse:
    return save_view(request, COMPANIES)


@login_required
@require_POST
def contact_save_view(request: HttpRequest) -> HttpResponse:
    return save_view(request, CONTACTS)


def _changeable_view(request: HttpRequest, pk: int) -> tuple[SavedView, Listing]:
    """The saved view ``pk`` and its list: a 404 when the user cannot open it, a 403 when
    they may open but not change it."""
    view = get_object_or_404(savedviews.visible(request.user), pk=pk)
    listing = LISTINGS.get(view.object_type)
    if listing is None:
        raise Http404
    if not savedviews.can_change(request.user, view):
        raise PermissionDenied
    return view, listing


def _active_view_id(request: HttpRequest) -> int | None:
    """The view the list page behind an htmx request shows, so its menu entry stays marked."""
    current = request.htmx.current_url if request.htmx else None
    view_id = QueryDict(urlsplit(current).query).get("view", "") if current else ""
    return int(view_id) if view_id.isdigit() else None


@login_required
def saved_view_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a saved view, or share or unshare it: in place in the menu (htmx), or on a
    page of its own without JavaScript."""
    view, listing = _changeable_view(request, pk)
    form = SavedViewEditForm(
        request.POST or None,
        prefix=f"view-{view.pk}",
        initial={"name": view.name, "shared": view.shared},
    )
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            view = savedviews.saved_view_update(
                view,
                actor=Actor.for_request(request),
                name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if not request.htmx:
                messages.success(request, _("The view “%(name)s” is saved.") % {"name": view.name})
                return redirect(saved_view_url(listing, view))
            saved = True
            form = None
    if request.htmx:
        entry = _saved_view_entry(
            request, listing, view, active_id=_active_view_id(request), form=form
        )
        return render(
            request,
            "contacts/_saved_view.html",
            {"saved": entry, "listing": listing, "just_saved": saved},
        )
    return render(
        request, "contacts/saved_view_form.html", {"form": form, "view": view, "listing": listing}
    )


@login_required
@require_POST
def saved_view_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace a saved view's filters, columns and sort with those the list page shows."""
    view, listing = _changeable_view(request, pk)
    form = SavedViewQueryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The filters are not valid."))
        return redirect(saved_view_url(listing, view))
    query = form.cleaned_data["query"]
    params = QueryDict(query)
    try:
        view = savedviews.saved_view_update(
            view,
            actor=Actor.for_request(request),
            filters=filter_params(params),
            columns=params.getlist("columns"),
            sort=params.get("sort", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_back(listing, query))
    messages.success(request, _("The view “%(name)s” is updated.") % {"name": view.name})
    return redirect(saved_view_url(listing, view))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(savedviews.visible(request.user), pk=pk)
    savedviews.saved_view_delete(view, actor=Actor.for_request(request))
    messages.success(request, _("The view “%(name)s” is deleted.") % {"name": view.name})
    listing = LISTINGS.get(view.object_type)
    return redirect(listing.url_name if listing else "web:home")


# Bulk actions --------------------------------------------------------------------------


def _back(listing: Listing, query: str) -> str:
    url = reverse(listing.url_name)
    return f"{url}?{query}" if query else url


def report(
    request: HttpRequest,
    result: services.BulkResult,
    done_message: str,
    names: dict[int, str],
) -> None:
    """Flash how many records the action changed, and each refusal with its reason."""
    if result.done:
        messages.success(request, done_message % {"count": result.done})
    if not result.errors:
        if not result.done:
            messages.info(request, _("Nothing needed changing."))
        return
    failures = [
        _("%(record)s: %(reason)s") % {"record": names.get(pk, f"#{pk}"), "reason": reason}
        for pk, reason in result.errors[:LISTED_FAILURES]
    ]
    hidden = len(result.errors) - len(failures)
    if hidden > 0:
        failures.append(_("and %(count)s more") % {"count": hidden})
    messages.error(
        request,
        ngettext(
            "%(count)s record was not changed: %(failures)s",
            "%(count)s records were not changed: %(failures)s",
            len(result.errors),
        )
        % {"count": len(result.errors), "failures": "; ".join(failures)},
    )


def start_export(request: HttpRequest, listing: Listing, form: BulkActionForm) -> HttpResponse:
    params = QueryDict(form.cleaned_data["query"])
    everything = form.all_matching
    vcards = form.cleaned_data["action"] == BulkAction.EXPORT_VCARD
    job = job_start(
        actor=Actor.for_request(request),
        kind=exports.VCARD_EXPORT_KIND if vcards else exports.EXPORT_KINDS[listing.object_type],
        title=_("Export of %(title)s") % {"title": str(listing.title).lower()},
        params={
            "filters": filter_params(params),
            "sort": params.get("sort", ""),
            "columns": params.getlist("columns"),
            "ids": [] if everything else form.cleaned_data["ids"],
            "format": form.cleaned_data.get("export_format") or "csv",
        },
    )
    return redirect("core:job_detail", pk=job.pk)


def run_bulk(request: HttpRequest, listing: Listing) -> HttpResponse:
    lists = queries.visible_lists(request.user) if listing.model is Contact else None
    form = BulkActionForm(request.POST, actions=listing.actions, lists=lists)
    back = _back(listing, request.POST.get("query", ""))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    action = data["action"]
    if action in (BulkAction.EXPORT, BulkAction.EXPORT_VCARD):
        return start_export(request, listing, form)
    if action == BulkAction.MERGE:
        first, second = data["ids"]
        return redirect(f"{reverse(listing.merge_url)}?{urlencode({'a': first, 'b': second})}")
    if form.all_matching:
        return start_bulk_job(request, listing, form)
    # Ids the user cannot see are dropped: to them those records do not exist.
    records = list(
        scope(listing.model.objects.filter(pk__in=data["ids"]), request.user).order_by("id")
    )
    try:
        result = bulk_actions.apply_bulk(action, records, data, Actor.for_request(request))
    except PermissionDenied:
        messages.error(request, _("You may not change this list."))
    else:
        done_message = bulk_actions.DONE_MESSAGES[action]
        report(request, result, done_message, {r.pk: str(r) for r in records})
    return redirect(back)


def start_bulk_job(request: HttpRequest, listing: Listing, form: BulkActionForm) -> HttpResponse:
    """Run the action on every row the filters match, in the background."""
    data = form.cleaned_data
    actor = Actor.for_request(request)
    job = job_start(
        actor=actor,
        kind=bulk_actions.BULK_JOB_KIND,
        title=_("%(action)s: all %(title)s matching the filters")
        % {"action": BulkAction(data["action"]).label, "title": str(listing.title).lower()},
        params={
            "object_type": listing.object_type,
            "action": data["action"],
            "filters": filter_params(QueryDict(data["query"])),
            "new_owner": _pk(data.get("owner")),
            "tag": _pk(data.get("tag")),
            "static_list": _pk(data.get("static_list")),
            "request_id": actor.request_id,
        },
    )
    return redirect("core:job_detail", pk=job.pk)


def _pk(obj: models.Model | None) -> int | None:
    return obj.pk if obj is not None else None


@login_required
@require_POST
def company_bulk(request: HttpRequest) -> HttpResponse:
    return run_bulk(request, COMPANIES)


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return run_bulk(request, CONTACTS)
