"""API for global search (/search): the header box's results, for integrations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from rapport.core import search
from rapport.core.api import current_user, problems

router = Router(tags=["search"])

MAX_LIMIT = 50


class SearchParams(Schema):
    q: str = Field("", description="What to look for: names, emails, phone numbers, domains…")
    limit: int = Field(8, ge=1, le=MAX_LIMIT, description="Hits per object type.")


class HitOut(Schema):
    object_type: str = Field(description="app_label.model, e.g. contacts.contact.")
    id: int = Field(alias="object_id")
    title: str
    subtitle: str
    url: str = Field(description="The record's page in the web UI.")


class GroupOut(Schema):
    key: str = Field(description="The object type of the group's hits.")
    label: str
    hits: list[HitOut]


class SearchOut(Schema):
    query: str
    groups: list[GroupOut]


@router.get("/search", response={200: SearchOut, **problems(422)})
def global_search(request: HttpRequest, params: Query[SearchParams]) -> dict:
    """Records you may see matching ``q``, grouped by type: every word is a prefix,
    phone numbers match in any format, and a word with a typo finds close words when
    nothing matches as typed. Any text is a valid query; one without letters or
    digits finds nothing."""
    groups = search.search(current_user(request), params.q, limit_per_type=params.limit)
    return {
        "query": params.q[: search.MAX_QUERY_CHARS],
        "groups": [
            {"key": group.key, "label": str(group.label), "hits": group.hits} for group in groups
        ],
    }
