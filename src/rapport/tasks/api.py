"""API for tasks: list (mine, by status, by related record), create, read, update,
complete and delete. Thin: schemas → ``tasks.services`` / ``tasks.queries``. A task
or a record the caller may not see answers 404."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from rapport.accounts.models import Team, User
from rapport.core.api import (
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problems,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import get_visible_or_404
from rapport.core.registry import record_model
from rapport.tasks import queries, services
from rapport.tasks.models import (
    RECURRENCE_MAX_INTERVAL,
    REMINDER_MAX_MINUTES,
    Priority,
    Recurrence,
    Status,
    Task,
)
from rapport.tasks.services import MAX_ID, RecordRef

router = Router(tags=["tasks"])


class RelatedRecord(Schema):
    object_type: str = Field(description="The record's type, e.g. contacts.contact.")
    object_id: int = Field(ge=1, le=MAX_ID)


class TaskOut(Schema):
    id: int
    title: str
    description: str
    due_at: datetime.datetime | None
    priority: Priority
    status: Status
    completed_at: datetime.datetime | None
    assignee: int | None = Field(alias="assignee_id", description="The user who does it.")
    assignee_team: int | None = Field(alias="assignee_team_id", description="Or their team.")
    owner: int | None = Field(alias="owner_id", description="Who asked for it.")
    created_by: int | None = Field(alias="created_by_id")
    recurrence: Recurrence
    recurrence_interval: int
    reminder_minutes: int | None
    remind_at: datetime.datetime | None
    reminded_at: datetime.datetime | None
    related: list[RelatedRecord] = Field(
        alias="visible_related", description="The records it is about that you may see."
    )
    custom: dict[str, Any]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TaskIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    due_at: datetime.datetime | None = None
    priority: Priority = Priority.NORMAL
    status: Status = Status.OPEN
    assignee: int | None = Field(None, description="A user id; you when neither is given.")
    assignee_team: int | None = Field(None, description="A team id.")
    recurrence: Recurrence = Recurrence.NONE
    recurrence_interval: int = Field(1, ge=1, le=RECURRENCE_MAX_INTERVAL)
    reminder_minutes: int | None = Field(None, ge=0, le=REMINDER_MAX_MINUTES)
    related: list[RelatedRecord] = Field(default_factory=list)
    custom: dict[str, Any] | None = None


class TaskPatch(Schema):
    title: str = Field(None, min_length=1, max_length=200)
    description: str = None
    due_at: datetime.datetime | None = None
    priority: Priority = None
    status: Status = None
    assignee: int | None = None
    assignee_team: int | None = None
    recurrence: Recurrence = None
    recurrence_interval: int = Field(None, ge=1, le=RECURRENCE_MAX_INTERVAL)
    reminder_minutes: int | None = Field(None, ge=0, le=REMINDER_MAX_MINUTES)
    related: list[RelatedRecord] = Field(None, description="Replaces the task's links.")
    custom: dict[str, Any] | None = None


class CompletionOut(Schema):
    task: TaskOut
    next_task: TaskOut | None = Field(description="The next occurrence of a repeating task.")


class TaskFilters(Schema):
    mine: bool = Field(False, description="Only tasks given to you or to your team.")
    status: list[Status] | None = Field(None, description="Any of (repeat the parameter).")
    object_type: str | None = Field(None, description="With object_id: tasks about this record.")
    object_id: int | None = Field(None, ge=1, le=MAX_ID)


def _with_related(tasks: list[Task], request: HttpRequest) -> list[Task]:
    """Attach each task's links to records the caller may see (one query per type)."""
    refs = {task.pk: services.links_of(task) for task in tasks}
    visible = queries.related_records(
        current_user(request), {ref for task_refs in refs.values() for ref in task_refs}
    )
    for task in tasks:
        task.visible_related = [ref for ref in refs[task.pk] if ref in visible]
    return tasks


def _tasks() -> Any:
    return Task.objects.prefetch_related("links")


def _visible_task(request: HttpRequest, task_id: int) -> Task:
    return get_visible_or_404(_tasks(), current_user(request), pk=task_id)


def _arguments(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """Service arguments from a body: ids become users and teams, links ``RecordRef``s."""
    arguments: dict[str, Any] = {}
    if "related" in data:
        related = data.pop("related")
        arguments["related"] = None if related is None else [RecordRef(**item) for item in related]
    if "custom" in data:
        arguments["custom"] = data.pop("custom")
    if data.get("assignee") is not None:
        users = User.objects.filter(is_active=True)
        data["assignee"] = objects_by_ids(users, [data["assignee"]], field="assignee")[0]
    if data.get("assignee_team") is not None:
        teams = Team.objects.all()
        data["assignee_team"] = objects_by_ids(
            teams, [data["assignee_team"]], field="assignee_team"
        )[0]
    arguments["values"] = data
    return arguments


def _read_back(request: HttpRequest, response: HttpResponse, task: Task) -> Task:
    task = _with_related([_tasks().get(pk=task.pk)], request)[0]
    set_etag(response, task)
    return task


@router.get("/tasks", response={200: PageOut[TaskOut], **problems(400, 404, 422)})
def task_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[TaskFilters],
    page: Query[PageParams],
) -> dict:
    """The tasks you may see, newest first. About a record you may not see: 404."""
    user = current_user(request)
    tasks = queries.visible_tasks(user).prefetch_related("links")
    if filters.mine:
        tasks = tasks.filter(queries.assigned_to(user))
    if filters.status:
        tasks = tasks.filter(status__in=filters.status)
    if filters.object_type is not None or filters.object_id is not None:
        if filters.object_type is None or filters.object_id is None:
            raise ValidationError({"object_id": [_("Give object_type and object_id together.")]})
        model = record_model(filters.object_type)
        record = get_visible_or_404(model.objects.all(), user, pk=filters.object_id)
        tasks = tasks.filter(links__object_type=filters.object_type, links__object_id=record.pk)
    result = paginate(request, response, tasks, ordering=["-created_at", "-id"], params=page)
    _with_related(result["items"], request)
    return result


@router.post("/tasks", response={201: TaskOut, **problems(403, 422)})
def task_create(request: HttpRequest, response: HttpResponse, payload: TaskIn) -> HttpStatus:
    """Create a task; it is yours to do unless you name an assignee or a team."""
    data = payload.model_dump(exclude_unset=True)
    task = services.task_create(actor=actor(request), **_arguments(request, data))
    task = _read_back(request, response, task)
    return created(response, task, "api:task_detail", task_id=task.pk)


@router.get(
    "/tasks/{int:task_id}",
    response={200: TaskOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def task_detail(request: HttpRequest, response: HttpResponse, task_id: int) -> object:
    """One task, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    task = _with_related([_visible_task(request, task_id)], request)[0]
    return conditional_read(request, response, task)


@router.patch(
    "/tasks/{int:task_id}",
    response={200: TaskOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def task_update(
    request: HttpRequest, response: HttpResponse, task_id: int, payload: TaskPatch
) -> Task:
    """Change a task; ``related`` replaces its links; status done completes it. Honours
    If-Match."""
    task = services.task_update(
        _visible_task(request, task_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_arguments(request, payload.model_dump(exclude_unset=True)),
    )
    return _read_back(request, response, task)


@router.post(
    "/tasks/{int:task_id}/complete",
    response={200: CompletionOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def task_complete(request: HttpRequest, response: HttpResponse, task_id: int) -> dict:
    """Mark a task done; a repeating task answers with its next occurrence too."""
    completion = services.task_complete(
        _visible_task(request, task_id),
        actor=actor(request),
        expected_version=expected_version(request),
    )
    next_task = completion.next_task
    return {
        "task": _read_back(request, response, completion.task),
        "next_task": _with_related([next_task], request)[0] if next_task else None,
    }


@router.delete(
    "/tasks/{int:task_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def task_delete(request: HttpRequest, task_id: int) -> HttpStatus:
    """Move a task to the trash. Honours If-Match."""
    services.task_delete(
        _visible_task(request, task_id),
        actor=actor(request),
        expected_version=expected_version(request),
    )
    return HttpStatus(204, None)
