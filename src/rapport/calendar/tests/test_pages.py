"""The agenda and the week: my meetings and open tasks, by day, in my time zone, with
what I may not see left out, at a constant number of queries."""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.accounts.models import Role
from rapport.activities import services as activities
from rapport.calendar.tests.conftest import (
    actor_for,
    at,
    client_for,
    days_of,
    make_meeting,
    make_task,
    titles_in,
)

pytestmark = pytest.mark.django_db

WEEK = "/calendar/week/?week=2025-W23"  # Monday 2 June to Sunday 8 June 2025


def test_a_meeting_shows_on_its_day_and_at_its_time_in_my_time_zone(alice, ann):
    # 02:00 UTC on Tuesday is 22:00 on Monday in New York.
    make_meeting(
        alice, ann, "Late call", at(2025, 6, 3, 2), at(2025, 6, 3, 3), values={"location": "Zoom"}
    )

    page = client_for(alice).get(WEEK)

    assert page.status_code == 200
    days = days_of(page.content.decode())
    assert list(days) == [f"2025-06-0{n}" for n in range(2, 9)]
    assert titles_in(days["2025-06-02"]) == ["Late call"]
    assert "22:00" in days["2025-06-02"] and "23:00" in days["2025-06-02"]
    assert "Zoom" in days["2025-06-02"]
    assert titles_in(days["2025-06-03"]) == []


def test_a_day_lists_all_day_items_first_then_the_rest_by_time(alice, bob, ann):
    make_meeting(alice, ann, "Review", at(2025, 6, 3, 13), at(2025, 6, 3, 14))  # 09:00 NY
    make_task(alice, "Send the quote", at(2025, 6, 3, 12))  # 08:00 NY
    make_task(alice, "Renewal day", at(2025, 6, 3, 4))  # midnight in New York: no time
    make_task(bob, "Given to Alice", at(2025, 6, 3, 20), assignee=alice)  # 16:00 NY
    # An all-day event imported into New York time: midnight to midnight.
    make_meeting(alice, ann, "Trade fair", at(2025, 6, 3, 4), at(2025, 6, 5, 4))

    days = days_of(client_for(alice).get(WEEK).content.decode())

    assert titles_in(days["2025-06-03"]) == [
        "Trade fair",
        "Renewal day",
        "Send the quote",
        "Review",
        "Given to Alice",
    ]
    assert days["2025-06-03"].count("All day") == 2
    assert titles_in(days["2025-06-04"]) == ["Trade fair"]  # it runs two days
    assert titles_in(days["2025-06-05"]) == []


def test_only_my_meetings_and_open_tasks_that_i_may_see_show(alice, bob, charlie, ann, wes):
    make_meeting(bob, ann, "Bob's, with Alice", at(2025, 6, 4, 15), attendee_users=[alice.pk])
    make_meeting(bob, ann, "Bob's alone", at(2025, 6, 4, 16))
    make_meeting(
        charlie, wes, "Charlie's, with Alice", at(2025, 6, 4, 17), attendee_users=[alice.pk]
    )
    make_task(alice, "Done already", at(2025, 6, 4, 18), status="done")
    make_task(alice, "Given to Bob", at(2025, 6, 4, 19), assignee=bob)
    make_task(bob, "Bob's own", at(2025, 6, 4, 20))
    trashed = make_meeting(alice, ann, "Trashed", at(2025, 6, 4, 21))
    activities.activity_delete(trashed, actor=actor_for(alice))

    days = days_of(client_for(alice).get(WEEK).content.decode())

    assert titles_in(days["2025-06-04"]) == ["Bob's, with Alice", "Given to Bob"]


def test_the_week_moves_by_week_and_finds_the_week_of_a_date(alice):
    client = client_for(alice)

    page = client.get("/calendar/week/?date=2025-06-05").content.decode()

    assert min(days_of(page)) == "2025-06-02"
    assert "?week=2025-W22" in page and "?week=2025-W24" in page
    new_year = client.get("/calendar/week/?week=2026-W01").content.decode()
    assert min(days_of(new_year)) == "2025-12-29"


def test_this_week_is_the_default_and_today_in_my_time_zone_is_marked(alice):
    today = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo("America/New_York")).date()

    page = client_for(alice).get("/calendar/week/").content.decode()

    days = days_of(page)
    assert len(days) == 7 and today.isoformat() in days
    assert 'class="week-day is-today" aria-labelledby="day-' + today.isoformat() in page
    assert "This week" not in page


@pytest.mark.parametrize(
    "query",
    [
        "week=2025-W54",
        "week=2025-23",
        "week=0000-W01",
        "date=2025-02-30",
        "date=tomorrow",
        "date=9999-12-31",
    ],
)
def test_a_bad_week_or_date_is_a_bad_request(alice, query):
    assert client_for(alice).get(f"/calendar/week/?{query}").status_code == 400


def test_the_agenda_lists_the_days_that_have_something_for_two_weeks(alice, ann):
    make_meeting(alice, ann, "Kick-off", at(2025, 6, 2, 14), at(2025, 6, 2, 15))
    make_task(alice, "Follow up", at(2025, 6, 10, 14))
    make_task(alice, "Too late for this page", at(2025, 6, 20, 14))

    page = client_for(alice).get("/calendar/?start=2025-06-01").content.decode()

    days = days_of(page)
    assert list(days) == ["2025-06-02", "2025-06-10"]
    assert titles_in(days["2025-06-02"]) == ["Kick-off"]
    assert "?start=2025-06-15" in page and "?start=2025-05-18" in page
    later = days_of(client_for(alice).get("/calendar/?start=2025-06-15").content.decode())
    assert list(later) == ["2025-06-20"]


def test_the_agenda_starts_today_and_says_when_there_is_nothing(alice):
    page = client_for(alice).get("/calendar/")

    assert page.status_code == 200
    assert "No meetings and no open tasks due on these days." in page.content.decode()
    assert client_for(alice).get("/calendar/?start=June").status_code == 400


def test_the_pages_need_a_sign_in_and_the_sidebar_links_them(client, alice):
    assert client.get("/calendar/").status_code == 302
    assert client.get(WEEK).status_code == 302
    home = client_for(alice).get("/").content.decode()
    assert 'href="/calendar/"' in home


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [WEEK, "/calendar/?start=2025-06-02"])
def test_the_pages_cost_the_same_queries_however_many_items(
    alice, bob, ann, url, django_assert_max_num_queries
):
    client = client_for(alice)
    make_meeting(alice, ann, "First", at(2025, 6, 2, 14))
    few = _queries(client, url)
    for number in range(20):
        make_meeting(
            bob, ann, f"Meeting {number}", at(2025, 6, 3, 14, number), attendee_users=[alice.pk]
        )
        make_task(bob, f"Task {number}", at(2025, 6, 4, 14, number), assignee=alice)

    with django_assert_max_num_queries(few):
        page = client.get(url)

    assert page.content.decode().count('class="calendar-item') == 41
    assert few <= 12


def test_a_user_without_a_role_sees_an_empty_calendar(alice, ann):
    make_meeting(alice, ann, "Mine", at(2025, 6, 2, 14))
    alice.role = Role.objects.get(slug="read-only")
    alice.save(update_fields=["role"])
    alice.role.permissions = {"*": {"view": "none"}}
    alice.role.save(update_fields=["permissions"])

    assert titles_in(client_for(alice).get(WEEK).content.decode()) == []
