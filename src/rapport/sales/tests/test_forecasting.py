"""Forecasts and sales metrics from deals with known dates: closed won, weighted
pipeline, commit and best case per period, quotas and attainment, the statistical
forecast with its interval, win rate, deal size, cycle, velocity and conversion; and the
pages, the quota rights and bad input."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import deals, forecasting, metrics
from rapport.sales.models import Deal, LostReason, Pipeline
from rapport.sales.periods import Period, at_midnight

pytestmark = pytest.mark.django_db

JAN = datetime.date(2031, 1, 1)


def at(day: datetime.date) -> datetime.datetime:
    return at_midnight(day) + datetime.timedelta(hours=12)


def closed(actor, *, amount: str, won: bool, day: datetime.date, opened: datetime.date) -> Deal:
    deal = deals.deal_create(actor=actor, values={"name": f"Closed {amount}", "amount": amount})
    deal = deals.deal_close(
        deal, actor=actor, won=won, lost_reason=None if won else LostReason.objects.first()
    )
    days = (day - opened).days
    Deal.objects.filter(pk=deal.pk).update(
        closed_at=at(day), created_at=at(opened), days_to_close=days
    )
    return deal


def expected(
    actor, *, amount: str, day: datetime.date, stage: str = "Proposal", category="pipeline"
) -> Deal:
    pipeline = Pipeline.objects.get(is_default=True)
    return deals.deal_create(
        actor=actor,
        values={
            "name": f"Open {amount}",
            "amount": amount,
            "expected_close_date": day,
            "stage": pipeline.stages.get(name=stage).pk,
            "forecast_category": category,
        },
    )


def test_periods_closed_won_weighted_commit_and_best_case(alice, as_alice):
    closed(
        as_alice,
        amount="1000",
        won=True,
        day=datetime.date(2031, 1, 10),
        opened=datetime.date(2030, 12, 1),
    )
    closed(
        as_alice,
        amount="500",
        won=False,
        day=datetime.date(2031, 1, 12),
        opened=datetime.date(2030, 12, 1),
    )
    expected(as_alice, amount="2000", day=datetime.date(2031, 1, 20), category="commit")  # 50 %
    expected(
        as_alice,
        amount="400",
        day=datetime.date(2031, 2, 5),
        stage="Negotiation",
        category="best_case",
    )
    expected(as_alice, amount="9999", day=datetime.date(2031, 2, 6), category="omitted")
    result = forecasting.forecast(alice, start=JAN, count=3)
    january, february, march = result.periods
    assert (january.closed_won, january.pipeline, january.weighted) == (
        Decimal("1000"),
        Decimal("2000"),
        Decimal("1000.00"),
    )
    assert (january.commit, january.best_case) == (Decimal("3000"), Decimal("3000"))
    assert (february.pipeline, february.weighted, february.best_case) == (
        Decimal("400"),
        Decimal("300.00"),
        Decimal("400"),
    )
    assert march.pipeline == 0 and march.closed_won == 0
    assert [rep.user for rep in result.reps] == [alice]
    assert result.reps[0].closed_won == Decimal("1000")


def test_quotas_and_attainment_with_quarters_summing_months(alice, as_admin, as_alice):
    closed(as_alice, amount="1500", won=True, day=datetime.date(2031, 2, 1), opened=JAN)
    for month in (1, 2, 3):
        forecasting.quota_set(
            actor=as_admin,
            user=alice,
            period="month",
            period_start=datetime.date(2031, month, 9),
            amount="1000",
        )
    quarter = forecasting.forecast(alice, kind="quarter", start=JAN, count=1).periods[0]
    assert (quarter.quota, quarter.attainment) == (Decimal("3000"), Decimal("50.0"))
    forecasting.quota_set(
        actor=as_admin, user=alice, period="quarter", period_start=JAN, amount="2000"
    )
    quarter = forecasting.forecast(alice, kind="quarter", start=JAN, count=1).periods[0]
    assert (quarter.quota, quarter.attainment) == (Decimal("2000"), Decimal("75.0"))
    with pytest.raises(PermissionDenied):
        forecasting.quota_set(
            actor=as_alice, user=alice, period="month", period_start=JAN, amount=1
        )
    with pytest.raises(ValidationError) as refused:
        forecasting.quota_set(
            actor=as_admin, user=alice, period="month", period_start=JAN, amount="-1"
        )
    assert "amount" in refused.value.message_dict


def test_the_statistical_forecast_fits_history_with_an_interval(alice, as_alice):
    for offset in range(17):  # August 2029 to December 2030
        month = datetime.date(2029 + (7 + offset) // 12, (7 + offset) % 12 + 1, 15)
        closed(
            as_alice,
            amount=str(1000 + 50 * offset + (offset % 3) * 40),
            won=True,
            day=month,
            opened=month - datetime.timedelta(days=20),
        )
    result = forecasting.forecast(alice, start=JAN, count=3)
    statistical = result.statistical
    assert not statistical.missing and len(statistical.predicted) == 3
    assert len(statistical.history) == 17
    for item in statistical.predicted:
        assert item.lower <= item.mean <= item.upper
        assert Decimal("1200") < item.mean < Decimal("3000")


def test_without_enough_history_the_forecast_says_so(alice, as_alice):
    closed(
        as_alice,
        amount="100",
        won=True,
        day=datetime.date(2030, 12, 1),
        opened=datetime.date(2030, 11, 1),
    )
    statistical = forecasting.forecast(alice, start=JAN, count=2).statistical
    assert statistical.predicted == [] and "Not enough" in statistical.missing


def test_a_forecast_counts_only_deals_the_reader_may_see(alice, charlie, as_alice):
    closed(
        as_alice,
        amount="700",
        won=True,
        day=datetime.date(2031, 1, 3),
        opened=JAN - datetime.timedelta(days=3),
    )
    assert forecasting.forecast(charlie, start=JAN, count=1).periods[0].closed_won == 0
    assert forecasting.forecast(alice, start=JAN, count=1).periods[0].closed_won == Decimal("700")


def test_bad_forecast_input_is_refused(alice):
    with pytest.raises(ValidationError):
        forecasting.forecast(alice, start=JAN, count=0)
    with pytest.raises(ValidationError):
        forecasting.forecast(alice, kind="week", start=JAN)


def test_metrics_win_rate_size_cycle_velocity_and_conversion(alice, as_alice):
    closed(
        as_alice,
        amount="1000",
        won=True,
        day=datetime.date(2031, 1, 20),
        opened=datetime.date(2031, 1, 1),
    )
    closed(
        as_alice,
        amount="3000",
        won=True,
        day=datetime.date(2031, 2, 10),
        opened=datetime.date(2031, 1, 1),
    )
    closed(
        as_alice,
        amount="500",
        won=False,
        day=datetime.date(2031, 2, 11),
        opened=datetime.date(2031, 1, 1),
    )
    result = metrics.sales_metrics(alice, start=JAN, end=datetime.date(2031, 3, 1))
    assert [(row.team, row.outcome.won) for row in result.teams] == [(alice.teams.get(), 2)]
    outcome = result.outcome
    assert (outcome.won, outcome.lost, outcome.win_rate) == (2, 1, Decimal("66.7"))
    assert outcome.average_size == Decimal("2000.00")
    # 19 and 40 days.
    assert outcome.average_cycle == Decimal("29.5")
    assert [(p.label, o.won, o.won_amount) for p, o in result.by_period][1][1:] == (
        1,
        Decimal("3000"),
    )
    deals.deal_create(actor=as_alice, values={"name": "Open", "amount": "600"})
    result = metrics.sales_metrics(alice, start=JAN, end=datetime.date(2031, 3, 1))
    # 1 open deal x 2000 x 66.7 % / 29.5 days x 30.
    assert result.velocity == Decimal("1356.61")


def test_stage_conversion_follows_the_furthest_stage_reached(alice, as_alice):
    pipeline = Pipeline.objects.get(is_default=True)
    stage = {s.name: s for s in pipeline.stages.all()}
    walked = [
        ["Needs analysis", "Proposal", "Won"],
        ["Needs analysis", "Proposal", "Lost"],
        ["Needs analysis"],
        [],
    ]
    reason = LostReason.objects.first()
    for path in walked:
        deal = deals.deal_create(actor=as_alice, values={"name": "Walk", "amount": "10"})
        for name in path:
            deal = deals.deal_move(deal, actor=as_alice, stage=stage[name], lost_reason=reason)
    today = timezone.localdate()
    result = metrics.sales_metrics(alice, start=today, end=today + datetime.timedelta(days=1))
    rows = [(c.stage.name, c.reached, c.advanced) for c in result.conversions]
    assert rows == [
        ("Qualification", 4, 3),
        ("Needs analysis", 3, 2),
        ("Proposal", 2, 1),
        ("Negotiation", 1, 1),
    ]


def test_bad_metrics_ranges_are_refused(alice):
    with pytest.raises(ValidationError):
        metrics.sales_metrics(alice, start=JAN, end=JAN)


def test_the_pages(alice_client, admin_client, as_alice, alice):
    closed(as_alice, amount="1000", won=True, day=timezone.localdate(), opened=timezone.localdate())
    page = alice_client.get(reverse("sales:forecast"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    quarter = alice_client.get(reverse("sales:forecast"), {"period": "quarter", "count": "4"})
    assert quarter.status_code == 200 and len(quarter.context["result"].periods) == 4
    bad = alice_client.get(reverse("sales:forecast"), {"count": "99"})
    assert bad.status_code == 200 and bad.context["form"].errors
    assert alice_client.get(reverse("sales:metrics")).status_code == 200
    bad = alice_client.get(reverse("sales:metrics"), {"start": "2031-05-01", "end": "2031-01-01"})
    assert bad.status_code == 200 and bad.context["form"].errors
    assert alice_client.get(reverse("sales:quotas")).status_code == 403
    saved = admin_client.post(
        reverse("sales:quotas"),
        {"user": alice.pk, "period": "month", "period_start": "2031-01-15", "amount": "5000"},
    )
    assert saved.status_code == 302
    refused = admin_client.post(
        reverse("sales:quotas"),
        {"user": alice.pk, "period": "month", "period_start": "2031-01-15", "amount": "-5"},
    )
    assert refused.status_code == 200 and refused.context["form"].errors


def test_periods_are_calendar_months_and_quarters():
    quarter = Period("quarter", datetime.date(2031, 10, 1))
    assert quarter.end == datetime.date(2032, 1, 1) and quarter.label == "Q4 2031"
    assert quarter.shifted(-4).start == datetime.date(2030, 10, 1)


def test_the_admin_scope_sees_everyone(admin, as_alice, charlie):
    closed(as_alice, amount="10", won=True, day=datetime.date(2031, 1, 5), opened=JAN)
    closed(
        Actor(user=charlie, source=Source.UI),
        amount="20",
        won=True,
        day=datetime.date(2031, 1, 6),
        opened=JAN,
    )
    assert forecasting.forecast(admin, start=JAN, count=1).periods[0].closed_won == Decimal("30")


def test_the_forecast_and_metrics_api(alice_client, as_alice, alice):
    closed(as_alice, amount="1000", won=True, day=datetime.date(2031, 1, 10), opened=JAN)
    body = alice_client.get("/api/v1/forecast", {"start": "2031-01-01", "count": 2}).json()
    assert body["currency"] == "USD" and len(body["periods"]) == 2
    assert body["periods"][0]["closed_won"] == "1000.00"
    assert body["reps"][0]["owner"] == alice.pk
    assert body["statistical_missing"]
    bad = alice_client.get("/api/v1/forecast", {"count": 50})
    assert bad.status_code == 422
    unknown = alice_client.get("/api/v1/forecast", {"owner": 999_999})
    assert unknown.status_code == 422
    stats = alice_client.get(
        "/api/v1/sales-metrics", {"start": "2031-01-01", "end": "2031-02-01"}
    ).json()
    assert stats["outcome"]["won"] == 1 and stats["outcome"]["win_rate"] == "100.0"
    assert [row["team"] for row in stats["teams"]] == [alice.teams.get().pk]
    assert [row["label"] for row in stats["by_period"]] == ["January 2031"]
    assert (
        alice_client.get(
            "/api/v1/sales-metrics", {"start": "2031-02-01", "end": "2031-01-01"}
        ).status_code
        == 422
    )
