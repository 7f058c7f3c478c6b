"""Task pages: My work, the task form, a task's page, quick complete and the record
panel's quick add. Thin: parse a form, call ``tasks.services``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.activities.views import engagement_html
from rapport.core.actors import Actor
from rapport.core.exceptions import VersionConflict
from rapport.core.forms import apply_service_errors
from rapport.core.permissions import can, can_create, get_visible_or_404
from rapport.core.registry import record_model
from rapport.notifications.services import is_local_path
from rapport.tasks import panels, queries, rows, services
from rapport.tasks.forms import QuickTaskForm, TaskForm
from rapport.tasks.models import Task
from rapport.tasks.services import RecordRef


def _visible(request: HttpRequest, pk: int) -> Task:
    tasks = Task.objects.select_related("assignee", "assignee_team", "owner", "created_by")
    return get_visible_or_404(tasks, request.user, pk=pk)


def _record(request: HttpRequest, ref: RecordRef) -> models.Model:
    """The record ``ref`` names, if the user may see it; else 404."""
    model = record_model(ref.object_type)
    return get_visible_or_404(model.objects.all(), request.user, pk=ref.object_id)


# My work


def _only_shown(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.only(*rows.FIELDS)


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """Every section's first page; or, with ``section`` and ``cursor``, that section's
    next page (rows only for htmx's "More", else a page of that one section). Reads only
    what the rows show."""
    now = timezone.now()
    wanted = request.GET.get("section")
    if wanted is not None:
        section = queries.SECTIONS_BY_KEY.get(wanted)
        if section is None:
            raise Http404
        page = queries.section_page(
            request.user,
            section,
            now=now,
            cursor=request.GET.get("cursor"),
            narrow=_only_shown,
        )
        pages = [(section, page)]
    else:
        pages = queries.first_pages(request.user, now=now, narrow=_only_shown)
    # Who does each task, for every section at once: a query for the users and one for
    # the teams, rather than joining them in each of the sections' nine queries.
    prefetch_related_objects(
        [task for _, page in pages for task in page.items], "assignee", "assignee_team"
    )
    shown = [
        {"section": section, "page": page, "rows": rows.task_rows(page.items, now=now)}
        for section, page in pages
    ]
    if request.htmx and wanted is not None:
        return render(request, "tasks/_section_rows.html", shown[0])
    return render(
        request,
        "tasks/my_work.html",
        {"sections": shown, "one_section": wanted is not None},
    )


# The task form


def _related(request: HttpRequest, refs: list[RecordRef]) -> list[dict[str, Any]]:
    """The records ``refs`` name that the user may see, with their kind, for display."""
    found = queries.related_records(request.user, refs).values()
    return [{"record": record, "kind": capfirst(record._meta.verbose_name)} for record in found]


def _related_from(request: HttpRequest) -> list[RecordRef]:
    refs = []
    for raw in request.GET.getlist("related"):
        try:
            refs.append(RecordRef.parse(raw))
        except ValueError:
            continue
    return refs


def _form_page(
    request: HttpRequest, form: TaskForm, *, task: Task | None, refs: list[RecordRef]
) -> HttpResponse:
    return render(
        request,
        "tasks/task_form.html",
        {
            "form": form,
            "task": task,
            "related": _related(request, refs),
        },
    )


@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, Task):
        raise PermissionDenied
    refs = _related_from(request)
    form = TaskForm(
        request.POST or None, initial={"related": [str(ref) for ref in refs]}, creating=True
    )
    if request.method == "POST" and form.is_valid():
        refs = form.cleaned_data["related"]
        try:
            task = services.task_create(
                actor=Actor.for_request(request), values=form.values(), related=refs
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Task created."))
            return redirect(task)
    return _form_page(request, form, task=None, refs=refs)


def _initial(task: Task) -> dict[str, Any]:
    fields = (
        "title",
        "description",
        "priority",
        "status",
        "assignee",
        "assignee_team",
        "recurrence",
        "recurrence_interval",
        "reminder_minutes",
        "version",
    )
    initial = {name: getattr(task, name) for name in fields}
    initial["due_at"] = timezone.localtime(task.due_at) if task.due_at else None
    initial["related"] = [str(link) for link in services.links_of(task)]
    return initial


@login_required
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible(request, pk)
    if not can(request.user, "edit", task):
        raise PermissionDenied
    form = TaskForm(request.POST or None, initial=_initial(task), creating=False)
    refs = services.links_of(task)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.task_update(
                task,
                actor=Actor.for_request(request),
                values=form.values(),
                related=form.cleaned_data["related"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        except VersionConflict:
            form.add_error(
                None,
                _(
                    "Someone else changed this task since you opened it. Reload the page to "
                    "see their changes, then edit again."
                ),
            )
        else:
            messages.success(request, _("Task saved."))
            return redirect(task)
    return _form_page(request, form, task=task, refs=refs)


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible(request, pk)
    return render(
        request,
        "tasks/task_detail.html",
        {
            "task": task,
            "related": _related(request, services.links_of(task)),
            "can_edit": can(request.user, "edit", task),
            "can_delete": can(request.user, "delete", task),
        },
    )


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Quick complete: the row again for htmx (done, and the next occurrence if any)."""
    task = _visible(request, pk)
    next_task = None
    try:
        completion = services.task_complete(task, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        task, next_task = completion.task, completion.next_task
    if request.htmx:
        return render(
            request,
            "tasks/_task_row.html",
            {"row": rows.task_rows([task], now=timezone.now())[0], "next_task": next_task},
        )
    back = request.POST.get("next", "")
    return redirect(back if is_local_path(back) else task.get_absolute_url())


@login_required
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible(request, pk)
    if not can(request.user, "delete", task):
        raise PermissionDenied
    if request.method == "POST":
        services.task_delete(task, actor=Actor.for_request(request))
        messages.success(request, _("The task is in the trash."))
        return redirect("tasks:my_work")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete task “%(title)s”?") % {"title": task.title},
            "explanation": _("It moves to the trash, from where it can be restored."),
            "cancel_url": task.get_absolute_url(),
        },
    )


# The record page's panel


@login_required
@require_POST
def task_quick_add(request: HttpRequest) -> HttpResponse:
    """Add a task from a record's panel; htmx gets the panel again, with errors if any."""
    form: QuickTaskForm | None = QuickTaskForm(request.POST)
    valid = form.is_valid()
    ref = form.cleaned_data.get("related")
    if ref is None:
        raise Http404
    record = _record(request, ref)
    if valid:
        try:
            services.task_create(
                actor=Actor.for_request(request), values=form.values(), related=[ref]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            form = None
    if request.htmx:
        context = panels.panel_context(request, record, form=form) | {"record": record}
        if form is None:
            # The new task may be the record's next activity: the page header shows it.
            context["engagement"] = engagement_html(request, record)
        return render(request, "tasks/_panel.html", context)
    if form is None:
        messages.success(request, _("Task created."))
    else:
        messages.error(request, _("The task was not added: check its title and due date."))
    return redirect(record.get_absolute_url())
