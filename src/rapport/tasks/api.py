"""API for tasks: list (mine, by status, by related record), create, read, update,
complete and delete. Thin: schemas → ``tasks.services`` / ``tasks.queries``. A task
or a record the caller may not see answers 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
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
    trashed,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.pagination import link_header
from rapport.core.permissions import get_visible_or_404
from rapport.core.registry import record_model
from rapport.notifications.digest import user_zone
from rapport.tasks import queries, services
from rapport.tasks.models import Task
from rapport.tasks.schemas import (
    CompletionOut,
    TaskFilters,
    TaskIn,
    TaskOut,
    TaskPatch,
    with_visible_related,
)
from rapport.tasks.services import RecordRef

router = Router(tags=["tasks"])


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
    task = with_visible_related([_tasks().get(pk=task.pk)], current_user(request))[0]
    set_etag(response, task)
    return task


@router.get("/tasks", response={200: PageOut[TaskOut], **problems(400, 404, 422)})
def task_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[TaskFilters],
    page: Query[PageParams],
) -> dict:
    """The tasks you may see, newest first, or a section of your My work in its order.
    About a record you may not see: 404."""
    user = current_user(request)
    narrow = _narrowing(user, filters)
    if filters.section is None:
        tasks = narrow(queries.visible_tasks(user))
        result = paginate(request, response, tasks, ordering=queries.NEWEST, params=page)
    else:
        with timezone.override(user_zone(user)):
            found = queries.section_page(
                user,
                queries.SECTIONS_BY_KEY[filters.section],
                now=timezone.now(),
                cursor=page.cursor,
                limit=page.limit,
                narrow=narrow,
            )
        link = link_header(request, found)
        if link:
            response["Link"] = link
        result = {"items": found.items, "next_cursor": found.next_cursor}
    with_visible_related(result["items"], user)
    return result


def _narrowing(user: User, filters: TaskFilters) -> Callable[[QuerySet[Task]], QuerySet[Task]]:
    """What the filters but ``section`` keep of a set of tasks (with their links read);
    404 for a record the user may not see."""
    conditions = Q()
    if filters.mine:
        conditions &= queries.assigned_to(user)
    if filters.status:
        conditions &= Q(status__in=filters.status)
    if filters.object_type is not None or filters.object_id is not None:
        if filters.object_type is None or filters.object_id is None:
            raise ValidationError({"object_id": [_("Give object_type and object_id together.")]})
        model = record_model(filters.object_type)
        record = get_visible_or_404(model.objects.all(), user, pk=filters.object_id)
        conditions &= Q(links__object_type=filters.object_type, links__object_id=record.pk)

    def narrow(tasks: QuerySet[Task]) -> QuerySet[Task]:
        return tasks.filter(conditions).prefetch_related("links")

    return narrow


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
    task = with_visible_related([_visible_task(request, task_id)], current_user(request))[0]
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
        "next_task": with_visible_related([next_task], current_user(request))[0]
        if next_task
        else None,
    }


@router.delete(
    "/tasks/{int:task_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def task_delete(request: HttpRequest, task_id: int) -> HttpStatus:
    """Move a task to the trash. Honours If-Match."""
    return trashed(request, services.task_delete, _visible_task(request, task_id))
