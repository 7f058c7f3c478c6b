"""Keyset pagination: the generic ``keyset_page`` and its use by API lists."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import RequestFactory
from django.utils import timezone

from rapport.accounts.models import Team
from rapport.core.pagination import (
    InvalidCursor,
    encode_cursor,
    keyset_page,
    link_header,
    next_page_url,
)
from rapport.testing.models import Specimen

API = "/api/v1"


@pytest.fixture
def specimens(db) -> list[Specimen]:
    """25 rows whose names repeat, so the ordering needs all its columns to be total."""
    start = timezone.now()
    return [
        Specimen.objects.create(
            name=f"name {number % 4}",
            amount=Decimal(number),
            created_at=start + datetime.timedelta(microseconds=number % 7),
        )
        for number in range(25)
    ]


def walk(queryset, ordering: list[str], limit: int) -> list:
    rows, cursor = [], None
    while True:
        page = keyset_page(queryset, ordering=ordering, cursor=cursor, limit=limit)
        rows.extend(page.items)
        assert page.has_more == (page.next_cursor is not None)
        if not page.has_more:
            return rows
        cursor = page.next_cursor


@pytest.mark.parametrize(
    "ordering",
    [["id"], ["-id"], ["name", "-created_at", "id"], ["-name", "created_at", "-id"]],
)
def test_walking_pages_yields_every_row_once_in_order(specimens, ordering):
    queryset = Specimen.objects.all()

    rows = walk(queryset, ordering, limit=4)

    assert [row.pk for row in rows] == [row.pk for row in queryset.order_by(*ordering)]


def test_a_page_holds_limit_rows_and_the_last_says_so(specimens):
    first = keyset_page(Specimen.objects.all(), ordering=["id"], cursor=None, limit=20)
    last = keyset_page(Specimen.objects.all(), ordering=["id"], cursor=first.next_cursor, limit=20)

    assert (len(first.items), first.has_more) == (20, True)
    assert (len(last.items), last.has_more, last.next_cursor) == (5, False, None)


def test_an_exact_fit_has_no_next_page(specimens):
    page = keyset_page(Specimen.objects.all(), ordering=["id"], cursor=None, limit=25)

    assert (len(page.items), page.has_more) == (25, False)


def test_rows_added_before_the_cursor_do_not_shift_the_next_page(specimens):
    first = keyset_page(Specimen.objects.all(), ordering=["-id"], cursor=None, limit=10)
    Specimen.objects.create(name="newest")

    second = keyset_page(
        Specimen.objects.all(), ordering=["-id"], cursor=first.next_cursor, limit=10
    )

    assert second.items[0].pk == first.items[-1].pk - 1


@pytest.mark.parametrize(
    "cursor", ["garbage", "WzFd:1tWm0x:forged", signing.dumps([1], salt="another use")]
)
def test_a_forged_cursor_is_refused(specimens, cursor):
    with pytest.raises(InvalidCursor):
        keyset_page(Specimen.objects.all(), ordering=["id"], cursor=cursor, limit=5)


def test_a_cursor_only_fits_the_ordering_it_was_made_for(specimens):
    cursor = encode_cursor(specimens[3], ["name", "id"])

    with pytest.raises(InvalidCursor):
        keyset_page(Specimen.objects.all(), ordering=["-name", "id"], cursor=cursor, limit=5)


def test_next_page_url_keeps_the_other_parameters(specimens):
    request = RequestFactory().get("/things", {"q": "a b", "cursor": "old", "limit": "5"})
    page = keyset_page(Specimen.objects.all(), ordering=["id"], cursor=None, limit=5)

    url = next_page_url(request, page)

    assert url.startswith("http://testserver/things?")
    assert "q=a+b" in url and "limit=5" in url and "old" not in url
    assert link_header(request, page) == f'<{url}>; rel="next"'


def test_last_page_has_no_link(db):
    request = RequestFactory().get("/things")
    page = keyset_page(Specimen.objects.all(), ordering=["id"], cursor=None, limit=5)

    assert (next_page_url(request, page), link_header(request, page)) == (None, None)


# Through the API


def test_api_pages_walk_all_teams_once(admin_client):
    Team.objects.bulk_create(Team(name=f"Team {number:02}") for number in range(25))
    expected = list(Team.objects.order_by("name", "id").values_list("name", flat=True))
    names, url, pages = [], f"{API}/teams?limit=10", 0

    while url:
        response = admin_client.get(url)
        assert response.status_code == 200
        body = response.json()
        names.extend(item["name"] for item in body["items"])
        pages += 1
        if body["next_cursor"]:
            link = re.fullmatch(r'<http://testserver([^>]+)>; rel="next"', response["Link"])
            url = link.group(1)
            assert parse_qs(urlsplit(url).query)["cursor"] == [body["next_cursor"]]
        else:
            assert "Link" not in response
            url = None

    assert (names, pages) == (expected, 3)


def test_api_garbage_cursor_is_a_400_problem(admin_client):
    response = admin_client.get(f"{API}/teams?cursor=garbage")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://rapport.dev/problems/invalid-cursor"


@pytest.mark.parametrize("limit", ["0", "201", "many"])
def test_api_limit_out_of_range_is_422(admin_client, limit):
    response = admin_client.get(f"{API}/teams?limit={limit}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


def test_api_default_limit_is_50(admin_client):
    Team.objects.bulk_create(Team(name=f"Team {number:02}") for number in range(60))

    assert len(admin_client.get(f"{API}/teams").json()["items"]) == 50
