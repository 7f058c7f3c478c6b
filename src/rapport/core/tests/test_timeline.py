"""The timeline merge: pages of several sources, newest first, resumed exactly after the
last item shown by a signed cursor (``core.timeline``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from rapport.accounts.models import Team
from rapport.core import timeline
from rapport.core.pagination import InvalidCursor

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@dataclass
class ListSource:
    """A source over a list of (minute, id, kind), read as a database would: newest first,
    strictly before the position, at most ``limit``."""

    key: str
    rows: list[tuple[int, int, str]]
    kinds = (("note", "Note"), ("call", "Call"))

    def applies_to(self, model) -> bool:
        return True

    def items(self, user, record, *, before, kinds, limit):
        found = [
            timeline.TimelineItem(
                at=START + datetime.timedelta(minutes=minute),
                source=self.key,
                id=item_id,
                kind=kind,
                template="",
            )
            for minute, item_id, kind in self.rows
            if kinds is None or kind in kinds
        ]
        if before is not None:
            found = [item for item in found if item.position < before]
        return sorted(found, key=lambda item: item.position, reverse=True)[:limit]


@pytest.fixture
def sources(monkeypatch) -> None:
    monkeypatch.setattr(timeline, "_SOURCES", {})
    # Two items share minute 5 across sources, and two share it within one source.
    timeline.register(
        ListSource("a", [(1, 1, "note"), (5, 2, "call"), (5, 3, "note"), (9, 4, "note")])
    )
    timeline.register(ListSource("b", [(2, 1, "call"), (5, 2, "note"), (7, 3, "call")]))


def walk(limit: int, kinds=None) -> list[tuple[str, int]]:
    record = Team(pk=1, name="x")
    seen, cursor = [], None
    while True:
        page = timeline.page(None, record, cursor=cursor, kinds=kinds, limit=limit)
        seen += [(item.source, item.id) for item in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
def test_pages_merge_the_sources_newest_first_without_gaps_or_repeats(sources, limit):
    assert walk(limit) == [("a", 4), ("b", 3), ("b", 2), ("a", 3), ("a", 2), ("b", 1), ("a", 1)]


def test_kinds_filter_every_source(sources):
    assert walk(2, kinds={"call"}) == [("b", 3), ("a", 2), ("b", 1)]


def test_the_kind_choices_gather_every_source(sources):
    assert len(timeline.kind_choices(Team)) == 4


def test_a_forged_cursor_is_refused(sources):
    with pytest.raises(InvalidCursor):
        timeline.page(None, Team(pk=1), cursor="forged")


def test_older_than_orders_ties_by_source_then_id():
    before = timeline.Position(START, "b", 5)

    assert str(timeline.older_than(before, "a")) == str(timeline.Q(at__lte=START))
    assert str(timeline.older_than(before, "c")) == str(timeline.Q(at__lt=START))
    assert "id__lt" in str(timeline.older_than(before, "b"))
    assert timeline.older_than(None, "b") == timeline.Q()
