"""Customer 360 pages of companies and contacts: detail with inline editing,
create and edit forms with a duplicate warning, delete, merge, and the company
lookup their forms use. Thin: parse a form, call ``contacts.services``, render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.accounts.models import User
from rapport.contacts import queries, services
from rapport.contacts.columns import empty_cell, plain, tag_badges
from rapport.contacts.forms import (
    COMPANY_FIELDS,
    COMPANY_FORMSETS,
    CONTACT_FIELDS,
    CONTACT_FORMSETS,
    LOOKUP_LIMIT,
    Channels,
    CompanyForm,
    ContactForm,
    MergeField,
    MergeForm,
    RecordForm,
)
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.customfields import definitions_for
from rapport.core.exceptions import VersionConflict
from rapport.core.forms import apply_field_rules, apply_service_errors, rule_name
from rapport.core.permissions import (
    can,
    can_create,
    get_visible_or_404,
    hidden_fields,
    mask_hidden_fields,
    read_only_fields,
)

RELATED_SHOWN = 20
DUPLICATES_SHOWN = 10
CONFLICT_MESSAGE = gettext_lazy(
    "Someone else changed this record since you opened it. Reload the page to see their "
    "changes, then edit again."
)


@dataclass(frozen=True)
class Slot:
    """A section of the 360 page that a later part of Rapport fills."""

    key: str
    title: Promise
    description: Promise


SLOTS = (
    Slot(
        "tickets",
        gettext_lazy("Tickets"),
        gettext_lazy("Support tickets and their status will be listed here."),
    ),
    Slot(
        "feedback",
        gettext_lazy("Feedback and scores"),
        gettext_lazy("Survey answers, satisfaction and lead scores will be shown here."),
    ),
)


@dataclass(frozen=True)
class Kind:
    """What differs between the company pages and the contact pages."""

    model: type[models.Model]
    form_class: type[RecordForm]
    field_names: tuple[str, ...]
    formsets: tuple
    prefix: str
    create: Callable[..., models.Model]
    update: Callable[..., models.Model]
    delete: Callable[..., models.Model]
    merge: Callable[..., models.Model]
    list_url: str
    # Mirrors of the primary email / phone, chosen like any field when merging.
    merge_extra: tuple[str, ...]

    def url(self, name: str) -> str:
        return f"contacts:{self.prefix}_{name}"


COMPANY = Kind(
    model=Company,
    form_class=CompanyForm,
    field_names=COMPANY_FIELDS,
    formsets=COMPANY_FORMSETS,
    prefix="company",
    create=services.company_create,
    update=services.company_update,
    delete=services.company_delete,
    merge=services.company_merge,
    list_url="contacts:company_list",
    merge_extra=("phone",),
)
CONTACT = Kind(
    model=Contact,
    form_class=ContactForm,
    field_names=CONTACT_FIELDS,
    formsets=CONTACT_FORMSETS,
    prefix="contact",
    create=services.contact_create,
    update=services.contact_update,
    delete=services.contact_delete,
    merge=services.contact_merge,
    list_url="contacts:contact_list",
    merge_extra=("email", "phone"),
)


def _visible(kind: Kind, request: HttpRequest, pk: int) -> models.Model:
    queryset = kind.model.objects.select_related("owner", "team")
    if kind.model is Contact:
        queryset = queryset.select_related("company")
    else:
        queryset = queryset.select_related("parent")
    return get_visible_or_404(queryset, request.user, pk=pk)


def search_params(text: str) -> QueryDict:
    """List parameters of a quick search for ``text``."""
    params = QueryDict(mutable=True)
    params["q"] = text
    return params


# Field display and inline editing ------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    html: SafeString
    editable: bool
    url: str


def display(record: models.Model, name: str) -> SafeString:
    """One field of ``record`` for the detail page: choices by label, links where useful."""
    if name.startswith("custom_"):
        text = plain((record.custom or {}).get(name.removeprefix("custom_")))
        return format_html("{}", text) if text else empty_cell()
    if name == "tags":
        return tag_badges(record.tags.all())
    field = record._meta.get_field(name)
    value = getattr(record, name)
    if value in (None, "", []):
        return empty_cell()
    if field.choices:
        return format_html("{}", getattr(record, f"get_{name}_display")())
    if field.is_relation and hasattr(value, "get_absolute_url"):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)
    if isinstance(field, models.URLField):
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', value, value)
    if name == "domain":
        return format_html('<a href="https://{}" rel="noopener noreferrer">{}</a>', value, value)
    if name == "annual_revenue":
        return format_html("{} {}", plain(value), record.currency)
    return format_html("{}", plain(value))


def field_label(kind: Kind, name: str) -> str:
    if name.startswith("custom_"):
        key = name.removeprefix("custom_")
        return next((d.label for d in definitions_for(kind.model) if d.key == key), key)
    if name == "tags":
        return _("Tags")
    return capfirst(kind.model._meta.get_field(name).verbose_name)


def field_row(
    kind: Kind, record: models.Model, name: str, editable: bool, label: str = ""
) -> FieldRow:
    return FieldRow(
        name,
        label or field_label(kind, name),
        display(record, name),
        editable,
        reverse(kind.url("field"), args=[record.pk, name]),
    )


def field_rows(
    kind: Kind, record: models.Model, names: list[str], editable: bool, user: User
) -> list[FieldRow]:
    """The rows of ``names`` that ``user`` may see; read-only ones not editable."""
    hidden, read_only = hidden_fields(user, kind.model), read_only_fields(user, kind.model)
    return [
        field_row(kind, record, name, editable and rule_name(name) not in read_only)
        for name in names
        if rule_name(name) not in hidden
    ]


def custom_field_rows(
    kind: Kind, record: models.Model, editable: bool, user: User
) -> list[FieldRow]:
    names = [f"custom_{d.key}" for d in definitions_for(kind.model)]
    labels = {f"custom_{d.key}": d.label for d in definitions_for(kind.model)}
    return [
        field_row(kind, record, row.name, row.editable, labels[row.name])
        for row in field_rows(kind, record, names, editable, user)
    ]


def inline_field(request: HttpRequest, kind: Kind, pk: int, name: str) -> HttpResponse:
    """GET ``?edit=1``: the small form of one field; GET: the field shown; POST: save it
    through the service and show it again, or the form with its errors."""
    record = _visible(kind, request, pk)
    allowed = {*kind.field_names, "tags", *(f"custom_{d.key}" for d in definitions_for(kind.model))}
    if name not in allowed or rule_name(name) in hidden_fields(request.user, kind.model):
        raise Http404
    editable = can(request.user, "edit", record) and rule_name(name) not in read_only_fields(
        request.user, kind.model
    )
    url = reverse(kind.url("field"), args=[pk, name])
    context = {"kind": kind, "record": record, "url": url}
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        form = apply_field_rules(
            kind.form_class(request.POST, instance=record, only=[name, "version"]),
            request.user,
            kind.model,
        )
        if form.is_valid():
            try:
                record = kind.update(
                    record,
                    actor=Actor.for_request(request),
                    expected_version=form.cleaned_data["version"],
                    **_changes(form, name),
                )
            except VersionConflict:
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                record = _visible(kind, request, pk)
                context.update(record=record, row=field_row(kind, record, name, True))
                return render(request, f"contacts/_{kind.prefix}_field_saved.html", context)
        context.update(form=form, field=form[name], label=field_label(kind, name))
        return render(request, "contacts/_field_form.html", context)
    if request.GET.get("edit") and editable:
        form = kind.form_class(instance=record, only=[name, "version"])
        context.update(form=form, field=form[name], label=field_label(kind, name))
        return render(request, "contacts/_field_form.html", context)
    context["row"] = field_row(kind, record, name, editable)
    return render(request, "contacts/_field.html", context)


def _changes(form: RecordForm, name: str) -> dict[str, Any]:
    """The service keyword arguments that change just ``name``."""
    if name.startswith("custom_"):
        return {"custom": {name.removeprefix("custom_"): form.cleaned_data[name]}}
    if name == "tags":
        return {"tags": form.tags()}
    return {"values": {name: form.cleaned_data[name]}}


@login_required
def company_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    return inline_field(request, COMPANY, pk, name)


@login_required
def contact_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    return inline_field(request, CONTACT, pk, name)


# Detail pages --------------------------------------------------------------------------


def _detail_context(request: HttpRequest, kind: Kind, record: models.Model) -> dict[str, Any]:
    mask_hidden_fields(request.user, record)
    editable = can(request.user, "edit", record)
    return {
        "kind": kind,
        "record": record,
        "tab": "history" if request.GET.get("tab") == "history" else "overview",
        "can_edit": editable,
        "can_delete": can(request.user, "delete", record),
        "can_merge": can(request.user, "merge", record),
        "fields": field_rows(kind, record, [*kind.field_names, "tags"], editable, request.user),
        "custom_fields": custom_field_rows(kind, record, editable, request.user),
        "slots": SLOTS,
    }


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = _visible(COMPANY, request, pk)
    people = (
        queries.visible_contacts(request.user)
        .filter(company=company)
        .order_by("last_name", "first_name", "id")
    )
    subsidiaries = (
        queries.visible_companies(request.user).filter(parent=company).order_by("name", "id")
    )
    context = _detail_context(request, COMPANY, company) | {
        "phones": company.phones.all(),
        "addresses": company.addresses.all(),
        "social_profiles": company.social_profiles.all(),
        "people": list(people[: RELATED_SHOWN + 1]),
        "subsidiaries": list(subsidiaries[: RELATED_SHOWN + 1]),
        "related_shown": RELATED_SHOWN,
    }
    return render(request, "contacts/company_detail.html", context)


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _visible(CONTACT, request, pk)
    context = _detail_context(request, CONTACT, contact) | {
        "emails": contact.emails.all(),
        "phones": contact.phones.all(),
        "addresses": contact.addresses.all(),
        "social_profiles": contact.social_profiles.all(),
        "employments": contact.employments.select_related("company"),
        "lists": queries.visible_lists(request.user).filter(memberships__contact=contact),
    }
    return render(request, "contacts/contact_detail.html", context)


# Create and edit -----------------------------------------------------------------------


def _duplicates(request: HttpRequest, kind: Kind, form: RecordForm, channels: Channels) -> dict:
    """Visible records sharing an email, phone or domain with what is being created."""
    values = channels.values()
    probes = [{"email": item["email"]} for item in values.get("emails", [])]
    probes += [{"phone": item["number"]} for item in values.get("phones", [])]
    if kind.model is Company and form.cleaned_data.get("domain"):
        probes.append({"domain": form.cleaned_data["domain"]})
    found: dict[str, dict[int, models.Model]] = {"contacts": {}, "companies": {}}
    for probe in probes:
        matches = services.find_duplicates(user=request.user, **probe)
        for group in found:
            for match in matches.get(group, []):
                found[group].setdefault(match.pk, match)
    return {group: list(rows.values())[:DUPLICATES_SHOWN] for group, rows in found.items()}


def record_form(
    request: HttpRequest,
    kind: Kind,
    record: models.Model | None,
    initial: dict[str, Any] | None = None,
) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = apply_field_rules(
        kind.form_class(data, instance=record, initial=initial), request.user, kind.model
    )
    channels = Channels(kind.formsets, data, instance=record)
    duplicates = None
    # "&", not "and": every formset shows its errors, not only the first invalid one's.
    if data is not None and form.is_valid() & channels.is_valid():
        if record is None and not data.get("create_anyway"):
            duplicates = _duplicates(request, kind, form, channels)
            if not any(duplicates.values()):
                duplicates = None
        if duplicates is None:
            saved = _save(request, kind, record, form, channels)
            if saved is not None:
                return redirect(saved)
    context = {
        "kind": kind,
        "record": record,
        "form": form,
        "channels": channels,
        "duplicates": duplicates,
        "cancel_url": record.get_absolute_url() if record else reverse(kind.list_url),
    }
    return render(request, "contacts/record_form.html", context)


def _save(
    request: HttpRequest,
    kind: Kind,
    record: models.Model | None,
    form: RecordForm,
    channels: Channels,
) -> models.Model | None:
    """Create or update through the service; ``None`` with the errors on the forms."""
    arguments = {
        "actor": Actor.for_request(request),
        "values": form.values(),
        "custom": form.custom(),
        "tags": form.tags(),
        **channels.values(),
    }
    try:
        if record is None:
            saved = kind.create(**arguments)
            messages.success(request, _("“%(name)s” is created.") % {"name": saved})
        else:
            saved = kind.update(record, expected_version=form.cleaned_data["version"], **arguments)
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved})
    except VersionConflict:
        form.add_error(None, CONFLICT_MESSAGE)
        return None
    except ValidationError as error:
        channels.apply_errors(form, error)
        return None
    return saved


@login_required
def company_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, Company):
        raise PermissionDenied
    return record_form(request, COMPANY, None)


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    """A new contact; ``?company=<id>`` (the company page's link) fills in the company."""
    if not can_create(request.user, Contact):
        raise PermissionDenied
    company_id = request.GET.get("company", "")
    initial = {}
    if company_id.isdigit():
        company = queries.visible_companies(request.user).filter(pk=company_id).first()
        initial["company"] = company.pk if company else None
    return record_form(request, CONTACT, None, initial)


def _editable(kind: Kind, request: HttpRequest, pk: int) -> models.Model:
    record = _visible(kind, request, pk)
    if not can(request.user, "edit", record):
        raise PermissionDenied
    return record


@login_required
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return record_form(request, COMPANY, _editable(COMPANY, request, pk))


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return record_form(request, CONTACT, _editable(CONTACT, request, pk))


def delete(request: HttpRequest, kind: Kind, pk: int) -> HttpResponse:
    record = _visible(kind, request, pk)
    kind.delete(record, actor=Actor.for_request(request))
    messages.success(
        request, _("“%(name)s” is in the trash. You can restore it from there.") % {"name": record}
    )
    return redirect(kind.list_url)


@login_required
@require_POST
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return delete(request, COMPANY, pk)


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return delete(request, CONTACT, pk)


def _looked_up(
    request: HttpRequest, list_query: Callable[..., Any] = queries.company_list
) -> tuple[str, list[models.Model]]:
    """What was typed in a lookup box, and the first visible records it finds."""
    text = request.GET.get("lookup", "").strip()[:100]
    found: list[models.Model] = []
    if text:
        filterset, ordering = list_query(request.user, search_params(text))
        found = list(filterset.qs.order_by(*ordering)[:LOOKUP_LIMIT])
    return text, found


@login_required
def company_lookup(request: HttpRequest) -> HttpResponse:
    """Options of the company field of record forms: visible companies matching what was
    typed."""
    text, companies = _looked_up(request)
    return render(request, "contacts/_lookup_options.html", {"records": companies, "text": text})


@login_required
def contact_lookup(request: HttpRequest) -> HttpResponse:
    """Options of a contact field of record forms (a deal's people): visible contacts
    matching what was typed."""
    text, contacts = _looked_up(request, queries.contact_list)
    return render(request, "contacts/_lookup_options.html", {"records": contacts, "text": text})


@login_required
def company_suggest(request: HttpRequest) -> HttpResponse:
    """Suggestions of the company picker of the list filters, as listbox options."""
    text, companies = _looked_up(request)
    return render(
        request, "contacts/_company_suggestions.html", {"companies": companies, "text": text}
    )


# Merge ---------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value in (None, "", [], {})


def merge_fields(kind: Kind, first: models.Model, second: models.Model) -> list[MergeField]:
    """The fields whose values differ, each shown for both records."""
    differing = []
    for name in (*kind.field_names, *kind.merge_extra):
        mine, theirs = getattr(first, name), getattr(second, name)
        if mine != theirs:
            differing.append(
                MergeField(
                    name,
                    field_label(kind, name),
                    display(first, name),
                    display(second, name),
                    second_preferred=_blank(mine),
                )
            )
    for definition in definitions_for(kind.model):
        key = definition.key
        mine, theirs = (first.custom or {}).get(key), (second.custom or {}).get(key)
        if mine != theirs:
            differing.append(
                MergeField(
                    f"custom.{key}",
                    definition.label,
                    display(first, f"custom_{key}"),
                    display(second, f"custom_{key}"),
                    second_preferred=_blank(mine),
                )
            )
    return differing


def merge(request: HttpRequest, kind: Kind) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    first_id, second_id = source.get("a", ""), source.get("b", "")
    if not first_id.isdigit():
        raise Http404
    first = _visible(kind, request, int(first_id))
    if not second_id.isdigit():
        return merge_pick(request, kind, first)
    second = _visible(kind, request, int(second_id))
    if first.pk == second.pk:
        messages.error(request, _("Choose two different records to merge."))
        return redirect(f"{reverse(kind.url('merge'))}?a={first.pk}")
    fields = merge_fields(kind, first, second)
    form = MergeForm(request.POST or None, first=first, second=second, fields=fields)
    if request.method == "POST" and form.is_valid():
        winner, loser = (
            (first, second) if form.cleaned_data["winner"] == str(first.pk) else (second, first)
        )
        try:
            kind.merge(winner, loser, actor=Actor.for_request(request), choices=form.choices())
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Merged: “%(loser)s” is in the trash, its details are on “%(winner)s”.")
                % {"loser": loser, "winner": winner},
            )
            return redirect(reverse(kind.url("detail"), args=[winner.pk]))
    context = {"kind": kind, "first": first, "second": second, "form": form, "fields": fields}
    return render(request, "contacts/merge.html", context)


def merge_pick(request: HttpRequest, kind: Kind, record: models.Model) -> HttpResponse:
    """The second record of a merge: likely duplicates first, or any found by search."""
    probes = {"exclude": record}
    if kind.model is Contact:
        probes |= {"email": record.email, "phone": record.phone}
    else:
        probes |= {"domain": record.domain, "phone": record.phone}
    found = services.find_duplicates(user=request.user, **probes)
    suggestions = found["contacts" if kind.model is Contact else "companies"]
    text = request.GET.get("q", "").strip()[:200]
    matches: list[models.Model] = []
    if text:
        list_query = queries.contact_list if kind.model is Contact else queries.company_list
        filterset, ordering = list_query(request.user, search_params(text))
        matches = [m for m in filterset.qs.order_by(*ordering)[:RELATED_SHOWN] if m.pk != record.pk]
    context = {
        "kind": kind,
        "record": record,
        "suggestions": suggestions[:DUPLICATES_SHOWN],
        "matches": matches,
        "text": text,
    }
    return render(request, "contacts/merge_pick.html", context)


@login_required
def company_merge(request: HttpRequest) -> HttpResponse:
    return merge(request, COMPANY)


@login_required
def contact_merge(request: HttpRequest) -> HttpResponse:
    return merge(request, CONTACT)
