"""A record's timeline through the API: ``GET /api/v1/<records>/{id}/timeline``.

It reads ``core.timeline`` as the 360 page's panel does, so the API and the
page show the same items, merged from the same sources in the same order,
with the same kind filter and the same signed cursor. A record the caller may
not see answers 404; items of it they may not see are left out by the sources.

Two registrations make it:

- each timeline source says how the API shows its items (``register``, from an
  ``AppConfig.ready``): under which field of an item, with which schema, and how
  to read what that schema needs for a page of items in a fixed number of
  queries;
- each record type's ``api.py`` adds the endpoint to its router
  (``add_timeline_endpoint``), so a deal or a ticket gets one with one line.
"""

# No ``from __future__ import annotations``: the endpoint's parameters are annotated with
# a schema built at run time, which django-ninja must see as a class, not as a name.

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import create_model

from rapport.accounts.models import User
from rapport.core import timeline
from rapport.core.api import PageOut, PageParams, current_user, problems
from rapport.core.models import Record
from rapport.core.pagination import Page, link_header
from rapport.core.permissions import get_visible_or_404

# (reader, the objects of a page's items from one source) → what the schema reads, in order.
Prepare = Callable[[User, list[Any]], Sequence[Any]]


@dataclass(frozen=True)
class ItemShape:
    """How the API shows the items of one timeline source: each item's object, as
    ``prepare`` returns it, under ``field`` with ``schema``."""

    field: str
    schema: type[Schema]
    prepare: Prepare
    description: str = ""


_SHAPES: dict[str, ItemShape] = {}


def register(source_key: str, shape: ItemShape) -> None:
    """Show the items of source ``source_key`` as ``shape`` says. Call it from an
    ``AppConfig.ready``: the item schema is built once, when the first endpoint is."""
    _SHAPES[source_key] = shape


class TimelineItemBase(Schema):
    source: str = Field(description="Where the item comes from: activities, tasks, changes…")
    id: int = Field(description="The item's id in its source: an activity's, a task's…")
    kind: str = Field(
        description="What it is: one of the values the kind filter takes (note, call, task…)."
    )
    at: datetime.datetime = Field(
        description="Its place on the timeline: when it happened, or when a task is due."
    )


@cache
def item_schema() -> type[Schema]:
    """``TimelineItemOut``: the common fields, and one field per registered source that
    holds the item's own object when the item comes from that source (null otherwise)."""
    fields: dict[str, Any] = {
        shape.field: (
            shape.schema | None,
            Field(None, description=shape.description or f"Items from {key}."),
        )
        for key, shape in sorted(_SHAPES.items())
    }
    return create_model("TimelineItemOut", __base__=TimelineItemBase, **fields)


def items_out(user: User, items: Sequence[timeline.TimelineItem]) -> list[dict[str, Any]]:
    """``items`` as the item schema reads them: each source's objects prepared together,
    so a page costs a fixed number of queries whatever it holds."""
    by_source: dict[str, list[timeline.TimelineItem]] = defaultdict(list)
    for item in items:
        by_source[item.source].append(item)
    own: dict[tuple[str, int], dict[str, Any]] = {}
    for key, group in by_source.items():
        shape = _SHAPES.get(key)
        if shape is None:
            continue
        prepared = shape.prepare(user, [item.obj for item in group])
        for item, obj in zip(group, prepared, strict=True):
            own[(key, item.id)] = {shape.field: obj}
    return [
        {
            "source": item.source,
            "id": item.id,
            "kind": item.kind,
            "at": item.at,
            **own.get((item.source, item.id), {}),
        }
        for item in items
    ]


def _params_schema(model: type[Record]) -> type[Schema]:
    """The query parameters: a page, and the kind filter with the kinds of ``model``'s
    timeline, so an unknown kind is a 422 and the OpenAPI description lists them."""
    kinds = tuple(value for value, _label in timeline.kind_choices(model))
    if not kinds:
        raise ValueError(f"{model._meta.label} has no timeline")
    kind_field = (
        list[Literal[kinds]] | None,  # type: ignore[valid-type]
        Field(None, description="Only items of these kinds (repeat the parameter)."),
    )
    return create_model(f"{model.__name__}TimelineParams", __base__=PageParams, kind=kind_field)


def add_timeline_endpoint(router: Router, model: type[Record], collection: str) -> None:
    """Add ``GET /<collection>/{record_id}/timeline`` for ``model`` to ``router``, named
    ``api:<model_name>_timeline``."""
    name = f"{model._meta.model_name}_timeline"
    params_schema = _params_schema(model)

    def read_timeline(
        request: HttpRequest,
        response: HttpResponse,
        record_id: int,
        params: Query[params_schema],  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        user = current_user(request)
        record = get_visible_or_404(model.objects.all(), user, pk=record_id)
        page = timeline.page(
            user,
            record,
            cursor=params.cursor,
            kinds=set(params.kind) if params.kind else None,
            limit=params.limit,
        )
        link = link_header(
            request, Page(page.items, page.next_cursor, page.next_cursor is not None)
        )
        if link:
            response["Link"] = link
        return {"items": items_out(user, page.items), "next_cursor": page.next_cursor}

    router.get(
        f"/{collection}/{{int:record_id}}/timeline",
        response={200: PageOut[item_schema()], **problems(400, 404, 422)},  # type: ignore[misc]
        url_name=name,
        operation_id=name,
        summary=f"The timeline of a {model._meta.verbose_name}",
        description=(
            "Everything on the record's timeline that you may see, newest first, as on "
            "its page: activities, tasks and owner or stage changes, and what later apps "
            "add. A record you may not see: 404."
        ),
    )(read_timeline)
