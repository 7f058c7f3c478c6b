"""The deal verbs: stages decide status and probability, moves are recorded with the
time spent in each stage, amounts are kept in the base currency, line items set the
amount, and every change is audited and announced."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.contacts.models import Company, Contact
from rapport.core.models import AuditEntry, OutboxEvent
from rapport.sales import deals, pipelines, services
from rapport.sales.deal_queries import stage_history
from rapport.sales.models import Deal, LostReason, Pipeline, Stage, StageKind

pytestmark = pytest.mark.django_db


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    return Stage.objects.get(pipeline=pipeline or Pipeline.objects.get(is_default=True), name=name)


def open_deal(actor, **values) -> Deal:
    return deals.deal_create(
        actor=actor, values={"name": "Fleet renewal", "amount": "1200", **values}
    )


def events(deal: Deal) -> list[str]:
    return list(
        OutboxEvent.objects.filter(aggregate_type="sales.deal", aggregate_id=str(deal.pk))
        .order_by("id")
        .values_list("name", flat=True)
    )


def test_a_new_deal_starts_in_the_default_pipeline_at_its_first_stage(as_alice, alice):
    deal = open_deal(as_alice)
    assert deal.pipeline.is_default
    assert deal.stage.name == "Qualification"
    assert (deal.status, deal.probability, deal.probability_is_set) == ("open", 10, False)
    assert deal.owner == alice
    assert deal.currency_id == "USD" and deal.amount_base == Decimal("1200")
    assert deal.expected_close_date == datetime.date.today() + deals.DEFAULT_CLOSE_IN
    assert events(deal) == ["deal.created"]
    assert [spell.stage.name for spell in stage_history(deal)] == ["Qualification"]


def test_moving_follows_the_stage_probability_unless_set_by_hand(as_alice):
    deal = open_deal(as_alice)
    deal = deals.deal_move(deal, actor=as_alice, stage=stage("Proposal"))
    assert (deal.probability, deal.stage.name) == (50, "Proposal")
    deal = deals.deal_update(deal, actor=as_alice, values={"probability": 65})
    deal = deals.deal_move(deal, actor=as_alice, stage=stage("Negotiation"))
    assert deal.probability == 65 and deal.probability_is_set
    deal = deals.deal_update(deal, actor=as_alice, values={"probability": None})
    assert (deal.probability, deal.probability_is_set) == (75, False)


def test_each_move_is_history_with_time_in_stage_and_events(as_alice):
    deal = open_deal(as_alice)
    deals.deal_move(deal, actor=as_alice, stage=stage("Proposal"))
    deal.refresh_from_db()
    deals.deal_close(deal, actor=as_alice, won=True)
    deal.refresh_from_db()
    spells = stage_history(deal)
    assert [spell.stage.name for spell in spells] == ["Qualification", "Proposal", "Won"]
    assert spells[0].left_at == spells[1].entered_at
    assert spells[-1].left_at is None
    assert all(spell.duration >= datetime.timedelta(0) for spell in spells)
    assert events(deal) == [
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
    ]
    assert deal.status == "won" and deal.closed_at is not None and deal.probability == 100
    moved = AuditEntry.objects.filter(object_id=str(deal.pk), action="update").first()
    assert "stage" in moved.changes and "status" in moved.changes


def test_losing_needs_a_reason_and_reopening_clears_it(as_alice):
    deal = open_deal(as_alice)
    with pytest.raises(ValidationError) as refused:
        deals.deal_close(deal, actor=as_alice, won=False)
    assert "lost_reason" in refused.value.message_dict
    assert Deal.objects.get(pk=deal.pk).status == "open"
    price = LostReason.objects.get(name="Price")
    deal = deals.deal_close(
        deal, actor=as_alice, won=False, lost_reason=price, lost_note="Too dear"
    )
    assert (deal.status, deal.lost_reason, deal.lost_note) == ("lost", price, "Too dear")
    assert "deal.lost" in events(deal)
    deal = deals.deal_move(deal, actor=as_alice, stage=stage("Qualification"))
    assert (deal.status, deal.lost_reason, deal.closed_at) == ("open", None, None)


def test_a_stage_of_another_pipeline_is_refused(as_alice, as_admin):
    other = pipelines.pipeline_create(actor=as_admin, values={"name": "Partners"})
    deal = open_deal(as_alice)
    with pytest.raises(ValidationError) as refused:
        deals.deal_move(deal, actor=as_alice, stage=stage("Proposal", other))
    assert "stage" in refused.value.message_dict
    moved = deals.deal_update(deal, actor=as_alice, values={"pipeline": other})
    assert moved.stage == stage("Qualification", other)


def test_amounts_in_another_currency_are_kept_in_the_base_currency(as_alice, as_admin):
    with pytest.raises(ValidationError) as refused:
        open_deal(as_alice, currency="EUR")
    assert "currency" in refused.value.message_dict
    services.rate_create(
        actor=as_admin, currency="EUR", rate="1.10", valid_from=datetime.date(2020, 1, 1)
    )
    deal = open_deal(as_alice, currency="eur", amount="100.005")
    assert deal.amount_base == Decimal("110.01")
    with pytest.raises(ValidationError) as refused:
        open_deal(as_alice, currency="XYZ")
    assert "currency" in refused.value.message_dict


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"probability": 101}, "probability"),
        ({"name": ""}, "name"),
        ({"stage": 999_999}, "stage"),
        ({"company": 999_999}, "company"),
        ({"status": "won"}, "status"),
    ],
)
def test_bad_values_are_refused_by_field(as_alice, values, field):
    with pytest.raises(ValidationError) as refused:
        open_deal(as_alice, **values)
    assert field in refused.value.message_dict
    assert not Deal.objects.exists()


def test_a_company_the_user_may_not_see_cannot_be_named(as_alice, charlie):
    hidden = Company.objects.create(name="Hidden", owner=charlie)
    with pytest.raises(ValidationError) as refused:
        open_deal(as_alice, company=hidden.pk)
    assert "company" in refused.value.message_dict


def test_only_editors_change_a_deal(as_alice, bob):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    deal = open_deal(as_alice)
    with pytest.raises(PermissionDenied):
        deals.deal_move(deal, actor=Actor(user=bob, source=Source.UI), stage=stage("Proposal"))


def test_line_items_set_the_amount_from_their_net_total(as_alice, as_admin):
    from rapport.sales.tests.conftest import make_book, make_product

    product = make_product(as_admin, sku="SEAT", name="Seat licence", tax_rate=Decimal("20"))
    book = make_book(as_admin, "List USD", "USD", is_default=True)
    services.price_set(book, actor=as_admin, product=product, unit_price="19.99")
    deal = open_deal(as_alice)
    deal = deals.deal_set_line_items(
        deal,
        actor=as_alice,
        items=[
            {"product": product.pk, "quantity": 3, "discount_percent": "10"},
            {"name": "Onboarding", "quantity": 1, "unit_price": "250"},
        ],
    )
    # 3 x 19.99 = 59.97, less 10 % = 53.973 -> 53.97; plus 250.
    assert deal.amount == Decimal("303.97") and deal.amount_base == Decimal("303.97")
    first, second = deal.line_items.all()
    assert (first.name, first.unit_price, first.tax_rate) == (
        "Seat licence",
        Decimal("19.99"),
        Decimal("20"),
    )
    assert second.tax_rate == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "X", "quantity": -1, "unit_price": "1"}, "quantity"),
        (
            {"name": "X", "quantity": 1, "unit_price": "1", "discount_percent": "100.5"},
            "discount_percent",
        ),
        ({"name": "X", "quantity": 1, "unit_price": "-1"}, "unit_price"),
        ({"product": 999_999, "quantity": 1, "unit_price": "1"}, "product"),
    ],
)
def test_bad_line_items_are_refused_naming_the_line_and_field(as_alice, item, field):
    deal = open_deal(as_alice)
    ok = {"name": "Fine", "quantity": 1, "unit_price": "5"}
    with pytest.raises(ValidationError) as refused:
        deals.deal_set_line_items(deal, actor=as_alice, items=[ok, item])
    assert f"line_items.1.{field}" in refused.value.message_dict
    assert not deal.line_items.exists()


def test_people_on_a_deal_with_roles(as_alice, alice, charlie):
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    hidden = Contact.objects.create(first_name="Hid", last_name="Den", owner=charlie)
    deal = deals.deal_create(
        actor=as_alice,
        values={"name": "Pilot", "amount": "10"},
        contacts=[deals.Participant(anna, "decision_maker")],
    )
    assert list(deal.participants.values_list("contact_id", "role")) == [
        (anna.pk, "decision_maker")
    ]
    with pytest.raises(ValidationError) as refused:
        deals.deal_set_contacts(deal, actor=as_alice, contacts=[deals.Participant(hidden.pk)])
    assert "contacts.0.contact" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        deals.deal_set_contacts(deal, actor=as_alice, contacts=[deals.Participant(anna, "boss")])
    assert "contacts.0.role" in refused.value.message_dict


def test_changing_a_stage_default_moves_the_deals_that_follow_it(as_alice, as_admin):
    deal = open_deal(as_alice)
    by_hand = open_deal(as_alice, probability=33)
    pipelines.stage_update(stage("Qualification"), actor=as_admin, values={"probability": 15})
    deal.refresh_from_db()
    by_hand.refresh_from_db()
    assert (deal.probability, by_hand.probability) == (15, 33)


def test_pipeline_settings_keep_their_rules(as_admin, as_alice):
    partners = pipelines.pipeline_create(
        actor=as_admin, values={"name": "Partners"}, open_stages=[("Intro", 20), ("Contract", 80)]
    )
    kinds = list(partners.stages.values_list("name", "kind"))
    assert kinds == [("Intro", "open"), ("Contract", "open"), ("Won", "won"), ("Lost", "lost")]
    with pytest.raises(PermissionDenied):
        pipelines.pipeline_create(actor=as_alice, values={"name": "Mine"})
    with pytest.raises(ValidationError):
        pipelines.pipeline_create(actor=as_admin, values={"name": "Partners"})
    pipelines.pipeline_update(partners, actor=as_admin, values={"is_default": True})
    assert list(Pipeline.objects.filter(is_default=True)) == [partners]
    contract = partners.stages.get(name="Contract")
    intro = partners.stages.get(name="Intro")
    pipelines.stages_reorder(partners, actor=as_admin, stage_ids=[contract.pk, intro.pk])
    assert list(partners.stages.order_by("position").values_list("name", flat=True)) == [
        "Contract",
        "Intro",
        "Won",
        "Lost",
    ]
    deals.deal_create(actor=as_alice, values={"name": "In intro", "stage": intro.pk})
    with pytest.raises(ValidationError):
        pipelines.stage_delete(intro, actor=as_admin)
    with pytest.raises(ValidationError):
        pipelines.stage_delete(partners.stages.get(kind=StageKind.WON), actor=as_admin)
    pipelines.stage_delete(contract, actor=as_admin)
    assert not partners.stages.filter(name="Contract").exists()


def test_merging_contacts_and_companies_keeps_their_deals(as_alice, alice):
    from rapport.contacts import services as contact_services

    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    twin = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    acme = Company.objects.create(name="Acme", owner=alice)
    acme_twin = Company.objects.create(name="ACME Inc", owner=alice)
    shared = deals.deal_create(
        actor=as_alice,
        values={"name": "Both", "company": acme_twin},
        contacts=[deals.Participant(anna, "champion"), deals.Participant(twin, "user")],
    )
    only_twin = deals.deal_create(
        actor=as_alice, values={"name": "Twin"}, contacts=[deals.Participant(twin, "evaluator")]
    )
    contact_services.contact_merge(anna, twin, actor=as_alice, choices={})
    contact_services.company_merge(acme, acme_twin, actor=as_alice, choices={})
    assert list(shared.participants.values_list("contact_id", "role")) == [(anna.pk, "champion")]
    assert list(only_twin.participants.values_list("contact_id", "role")) == [
        (anna.pk, "evaluator")
    ]
    shared.refresh_from_db()
    assert shared.company == acme
