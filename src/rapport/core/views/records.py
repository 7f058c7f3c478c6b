"""Pages every record type shares: the trash, a record's history, the audit
browser and the custom field settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import customfields, jobs, services
from rapport.core.actors import Actor
from rapport.core.audit import filter_entries
from rapport.core.forms import AuditFilterForm, CustomFieldForm, apply_service_errors
from rapport.core.history import describe_entries
from rapport.core.models import AuditEntry, CustomFieldDefinition
from rapport.core.pagination import keyset_page
from rapport.core.permissions import require_admin, scope
from rapport.core.registry import any_model, primary_key, record_model, record_models

TRASH_PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50


def _trashed(model: type[models.Model], user) -> models.QuerySet:
    deleted = model.all_objects.filter(deleted_at__isnull=False).select_related("deleted_by")
    return scope(deleted, user, "delete")


@login_required
def trash(request: HttpRequest) -> HttpResponse:
    """Records the user may delete that are in the trash, newest first, one type at a time."""
    types = [
        {
            "label": model._meta.label_lower,
            "name": capfirst(model._meta.verbose_name_plural),
        }
        for model in record_models()
    ]
    selected = request.GET.get("type") or (types[0]["label"] if types else "")
    page = None
    if selected:
        model = record_model(selected)
        page = keyset_page(
            _trashed(model, request.user),
            ordering=["-deleted_at", "-id"],
            cursor=request.GET.get("cursor"),
            limit=TRASH_PAGE_SIZE,
        )
    return render(
        request,
        "core/trash.html",
        {
            "types": types,
            "selected": selected,
            "page": page,
            "can_purge": request.user.is_admin,
        },
    )


def _trashed_record(request: HttpRequest, object_type: str, object_id: str) -> models.Model:
    model = record_model(object_type)
    return get_object_or_404(_trashed(model, request.user), pk=primary_key(model, object_id))


@login_required
@require_POST
def trash_restore(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    obj = _trashed_record(request, object_type, object_id)
    try:
        services.record_restore(obj, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(
            request,
            _("“%(record)s” cannot be restored: %(reason)s")
            % {"record": obj, "reason": " ".join(error.messages)},
        )
    else:
        messages.success(request, _("“%(record)s” is restored.") % {"record": obj})
    return redirect(f"{reverse('core:trash')}?type={object_type}")


@login_required
@require_POST
def trash_purge(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    obj = _trashed_record(request, object_type, object_id)
    label = str(obj)
    services.record_purge(obj, actor=Actor.for_request(request))
    messages.success(request, _("“%(record)s” is deleted for good.") % {"record": label})
    return redirect(f"{reverse('core:trash')}?type={object_type}")


def _history_subject(
    request: HttpRequest, object_type: str, object_id: str
) -> tuple[models.Model, str]:
    """The model whose history is asked for and a label for the page; 404 when hidden.

    Records follow the permission layer (trashed ones included); any other
    audited object (users, teams, roles…) is for admins only."""
    model = any_model(object_type)
    object_id = primary_key(model, object_id)
    if model in record_models():
        obj = get_object_or_404(scope(model.all_objects.all(), request.user, "view"), pk=object_id)
        return model, str(obj)
    if not request.user.is_admin:
        raise Http404
    obj = model._default_manager.filter(pk=object_id).first()
    return model, str(obj) if obj is not None else _("Deleted %(type)s") % {
        "type": model._meta.verbose_name
    }


@login_required
def history(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    model, label = _history_subject(request, object_type, object_id)
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=object_id
    )
    page = keyset_page(
        entries, ordering=["-id"], cursor=request.GET.get("cursor"), limit=HISTORY_PAGE_SIZE
    )
    return render(
        request,
        "core/history.html",
        {
            "label": label,
            "page": page,
            "entries": describe_entries(page.items, model, request.user),
        },
    )


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.select_related("content_type")
    filters = {}
    if form.is_bound and form.is_valid():
        filters = form.filters()
        entries = filter_entries(entries, **filters)
    page = keyset_page(
        entries, ordering=["-id"], cursor=request.GET.get("cursor"), limit=AUDIT_PAGE_SIZE
    )
    return render(
        request,
        "core/audit.html",
        {
            "form": form,
            "page": page,
            "entries": describe_entries(page.items, None, request.user),
            "query": request.GET.copy(),
        },
    )


@login_required
@require_POST
def audit_export(request: HttpRequest) -> HttpResponse:
    """Start a CSV export of the entries the audit browser's filters select."""
    require_admin(request.user)
    form = AuditFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Fix the filters before exporting."))
        return redirect("core:audit")
    job = jobs.job_start(
        actor=Actor.for_request(request),
        kind="audit.export",
        title=_("Audit log export"),
        params=form.filters(),
    )
    return redirect("core:job_detail", pk=job.pk)


@login_required
def customfield_list(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    definitions = CustomFieldDefinition.objects.select_related("content_type")
    groups = []
    for model in record_models():
        content_type = ContentType.objects.get_for_model(model)
        groups.append(
            {
                "name": capfirst(model._meta.verbose_name_plural),
                "definitions": [d for d in definitions if d.content_type_id == content_type.pk],
            }
        )
    return render(request, "core/customfield_list.html", {"groups": groups})


@login_required
def customfield_create(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        content_type = ContentType.objects.get(pk=form.cleaned_data["content_type"])
        try:
            definition = customfields.customfield_create(
                actor=Actor.for_request(request), content_type=content_type, **form.service_values()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("The field “%(label)s” is added.") % {"label": definition.label}
            )
            return redirect("core:customfield_list")
    return render(request, "core/customfield_form.html", {"form": form, "definition": None})


@login_required
def customfield_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    form = CustomFieldForm(request.POST or None, definition=definition)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        for frozen in ("key", "field_type"):
            values.pop(frozen)
        try:
            customfields.customfield_update(definition, actor=Actor.for_request(request), **values)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("The field “%(label)s” is saved.") % {"label": definition.label}
            )
            return redirect("core:customfield_list")
    return render(request, "core/customfield_form.html", {"form": form, "definition": definition})


@login_required
def customfield_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    if request.method == "POST":
        customfields.customfield_delete(definition, actor=Actor.for_request(request))
        messages.success(
            request, _("The field “%(label)s” is deleted.") % {"label": definition.label}
        )
        return redirect("core:customfield_list")
    return render(request, "core/customfield_delete.html", {"definition": definition})
