"""Scheduled work: the worker's sweep runs each registered function once per interval,
and one failing does not stop the others."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.core import schedule
from rapport.core.maintenance import refresh_sqlite_statistics


@pytest.fixture
def isolated_schedule(monkeypatch) -> dict:
    registered: dict = {}
    monkeypatch.setattr(schedule, "_SCHEDULE", registered)
    return registered


def test_a_function_runs_when_due_and_not_again_before_its_interval(isolated_schedule):
    calls = []
    schedule.every(3600, name="count")(lambda: calls.append(1))

    assert schedule.run_due() == ["count"]
    assert schedule.run_due() == []
    assert calls == [1]

    isolated_schedule["count"].last_run -= 3600
    assert schedule.run_due() == ["count"]
    assert calls == [1, 1]


def test_one_failing_function_does_not_stop_the_others(isolated_schedule, caplog):
    calls = []

    def broken() -> None:
        raise RuntimeError("database away")

    schedule.every(60, name="broken")(broken)
    schedule.every(60, name="fine")(lambda: calls.append(1))

    assert schedule.run_due() == ["broken", "fine"]
    assert calls == [1]
    assert "scheduled broken failed" in caplog.text


@pytest.mark.django_db
def test_sqlite_statistics_are_refreshed(django_assert_max_num_queries):
    refresh_sqlite_statistics()

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            assert cursor.fetchone()[0] == 1
    else:
        with django_assert_max_num_queries(0):
            refresh_sqlite_statistics()
