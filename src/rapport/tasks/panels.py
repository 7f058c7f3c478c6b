"""The tasks panel of every record's 360 page: its open tasks and a quick-add form."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import Record
from rapport.core.panels import Panel
from rapport.core.permissions import can_create
from rapport.tasks import queries
from rapport.tasks.forms import QuickTaskForm
from rapport.tasks.models import OPEN_STATUSES, Task
from rapport.tasks.rows import task_rows
from rapport.tasks.services import ref_of

PANEL_SIZE = 10


def applies_to(model: type[models.Model]) -> bool:
    return issubclass(model, Record) and model is not Task


def panel_context(
    request: HttpRequest, record: models.Model, *, form: QuickTaskForm | None = None
) -> dict[str, Any]:
    """The record's open tasks the reader may see, soonest due first, and the form."""
    tasks = list(
        queries.tasks_of(request.user, record)
        .filter(status__in=OPEN_STATUSES)
        .select_related("assignee", "assignee_team")
        .order_by(F("due_at").asc(nulls_last=True), "id")[: PANEL_SIZE + 1]
    )
    if form is None and can_create(request.user, Task):
        form = QuickTaskForm(initial={"related": str(ref_of(record))})
    return {
        "rows": task_rows(tasks[:PANEL_SIZE], now=timezone.now()),
        "more_tasks": len(tasks) > PANEL_SIZE,
        "task_form": form,
        "related_ref": str(ref_of(record)),
    }


def _context(request: HttpRequest, record: models.Model) -> dict[str, Any]:
    return panel_context(request, record)


PANEL = Panel(
    key="tasks",
    title=_("Tasks"),
    template="tasks/_panel.html",
    context=_context,
    applies_to=applies_to,
    order=20,
    wide=False,
)
