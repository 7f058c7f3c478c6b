"""One chronological feed per record, merged from the sources apps register.

Activities, tasks, field changes and, later, stage changes, orders and
tickets each live in their own table. Each app registers a ``TimelineSource``
that returns, for one record, its newest items before a position; the
timeline asks every source for one page, merges them newest first and keeps
a page. The position is (time, source key, id), so the order is total and a
cursor made of the last item shown resumes exactly after it, whatever the
sources: an infinite scroll costs one indexed query per source per page,
however long the record's history.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core import signing
from django.db import models
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise

from rapport.accounts.models import User
from rapport.core.pagination import InvalidCursor

PAGE_SIZE = 25
_SALT = "rapport.timeline"


@dataclass(frozen=True, order=True)
class Position:
    """Where an item sits in a timeline; larger is newer."""

    at: datetime.datetime
    source: str
    id: int


@dataclass(frozen=True)
class TimelineItem:
    """One entry of the feed: ``template`` renders it with ``item`` in its context."""

    at: datetime.datetime
    source: str
    id: int
    kind: str
    template: str
    obj: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def position(self) -> Position:
        return Position(self.at, self.source, self.id)


class TimelineSource(Protocol):
    key: str
    # The kinds of item this source yields, as (value, label), for the kind filter.
    kinds: Sequence[tuple[str, Promise | str]]

    def applies_to(self, model: type[models.Model]) -> bool: ...

    def items(
        self,
        user: User,
        record: models.Model,
        *,
        before: Position | None,
        kinds: set[str] | None,
        limit: int,
    ) -> list[TimelineItem]:
        """Up to ``limit`` of ``record``'s items ``user`` may see, newest first, strictly
        before ``before`` (``older_than`` builds that filter), of ``kinds`` (all when
        ``None``)."""
        ...


_SOURCES: dict[str, TimelineSource] = {}


def register(source: TimelineSource) -> None:
    _SOURCES[source.key] = source


def unregister(key: str) -> None:
    _SOURCES.pop(key, None)


def sources_for(model: type[models.Model]) -> list[TimelineSource]:
    return [source for _key, source in sorted(_SOURCES.items()) if source.applies_to(model)]


def kind_choices(model: type[models.Model]) -> list[tuple[str, Promise | str]]:
    """Every kind of item ``model``'s timeline can hold, for the filter."""
    return [kind for source in sources_for(model) for kind in source.kinds]


def older_than(before: Position | None, source_key: str, at: str = "at", pk: str = "id") -> Q:
    """The rows of source ``source_key`` strictly before ``before``, for a source whose time
    and id columns are ``at`` and ``pk``: within one source the order is (time, id), and at
    the same instant a source whose key sorts lower comes first."""
    if before is None:
        return Q()
    if source_key < before.source:
        return Q(**{f"{at}__lte": before.at})
    if source_key > before.source:
        return Q(**{f"{at}__lt": before.at})
    return Q(**{f"{at}__lt": before.at}) | Q(**{at: before.at, f"{pk}__lt": before.id})


def encode(position: Position) -> str:
    return signing.dumps([position.at.isoformat(), position.source, position.id], salt=_SALT)


def decode(cursor: str) -> Position:
    try:
        at, source, item_id = signing.loads(cursor, salt=_SALT)
        moment = parse_datetime(at)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidCursor("the cursor is not valid") from None
    if moment is None or not isinstance(source, str) or not isinstance(item_id, int):
        raise InvalidCursor("the cursor is not valid")
    return Position(moment, source, item_id)


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem]
    next_cursor: str | None


def _newest(batches: Iterable[list[TimelineItem]], limit: int) -> list[TimelineItem]:
    merged = sorted(
        (item for batch in batches for item in batch),
        key=lambda item: item.position,
        reverse=True,
    )
    return merged[: limit + 1]


def page(
    user: User,
    record: models.Model,
    *,
    cursor: str | None = None,
    kinds: set[str] | None = None,
    limit: int = PAGE_SIZE,
) -> TimelinePage:
    """A page of ``record``'s timeline as ``user`` sees it, newest first. The caller has
    checked ``user`` may see ``record``; a bad ``cursor`` raises ``InvalidCursor``."""
    before = decode(cursor) if cursor else None
    batches = [
        source.items(user, record, before=before, kinds=kinds, limit=limit + 1)
        for source in sources_for(type(record))
    ]
    items = _newest(batches, limit)
    has_more = len(items) > limit
    items = items[:limit]
    return TimelinePage(items=items, next_cursor=encode(items[-1].position) if has_more else None)
