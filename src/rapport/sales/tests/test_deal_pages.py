"""Deal pages through HTTP: the board with its totals and moves, the deal's 360 page,
its forms, won and lost, the table view with its query count, and pipeline settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.contacts.models import Company, Contact
from rapport.sales import deals
from rapport.sales.models import Deal, LostReason, Pipeline, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline.objects.get(is_default=True)


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def make_deal(actor, name="Fleet renewal", **values) -> Deal:
    return deals.deal_create(actor=actor, values={"name": name, "amount": "1000", **values})


def test_the_board_shows_open_stages_with_totals_and_cards(alice_client, as_alice, pipeline):
    make_deal(as_alice, "Small", amount="100")
    make_deal(as_alice, "Large", amount="900", stage=stage(pipeline, "Proposal").pk)
    response = alice_client.get(reverse("sales:board", args=[pipeline.pk]))
    assert response.status_code == 200
    board = response.context["board"]
    assert [column.stage.name for column in board.columns] == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
    ]
    assert (board.count, board.amount) == (2, Decimal("1000"))
    proposal = board.columns[2]
    assert (proposal.count, proposal.amount, proposal.weighted) == (
        1,
        Decimal("900"),
        Decimal("450"),
    )
    page = response.content.decode()
    assert "Large" in page and "Small" in page and 'draggable="true"' in page


def test_the_board_shows_only_what_the_user_may_see_and_filters(
    alice_client, as_alice, charlie, pipeline
):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    make_deal(as_alice, "Mine")
    make_deal(Actor(user=charlie, source=Source.UI), "Theirs")
    response = alice_client.get(reverse("sales:board", args=[pipeline.pk]))
    assert response.context["board"].count == 1
    filtered = alice_client.get(
        reverse("sales:board", args=[pipeline.pk]), {"q": "nothing-like-it"}
    )
    assert filtered.context["board"].count == 0
    bad = alice_client.get(reverse("sales:board", args=[pipeline.pk]), {"amount_min": "lots"})
    assert bad.status_code == 200 and bad.context["filter_errors"]


def test_the_board_renders_in_a_bounded_number_of_queries(
    alice_client, as_alice, pipeline, django_assert_max_num_queries
):
    for number in range(12):
        make_deal(
            as_alice,
            f"Deal {number}",
            stage=stage(pipeline, "Proposal" if number % 2 else "Qualification").pk,
        )
    with django_assert_max_num_queries(20):
        response = alice_client.get(reverse("sales:board", args=[pipeline.pk]))
    assert response.context["board"].count == 12


def test_show_more_loads_the_next_cards_of_a_column(alice_client, as_alice, pipeline, monkeypatch):
    from rapport.sales import deal_queries

    monkeypatch.setattr(deal_queries, "CARDS_PER_STAGE", 2)
    for number in range(3):
        make_deal(as_alice, f"Card {number}")
    board = alice_client.get(reverse("sales:board", args=[pipeline.pk])).context["board"]
    first = board.columns[0].page
    assert first.has_more and len(first.items) == 2
    more = alice_client.get(
        reverse("sales:board_column", args=[pipeline.pk, board.columns[0].stage.pk]),
        {"cursor": first.next_cursor},
    )
    assert more.status_code == 200 and "Card" in more.content.decode()
    assert len(more.context["column"].cards) == 1


def test_moving_a_card_from_the_board(alice_client, as_alice, pipeline):
    deal = make_deal(as_alice)
    board_url = reverse("sales:board", args=[pipeline.pk])
    response = alice_client.post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage(pipeline, "Negotiation").pk, "version": deal.version, "next": board_url},
    )
    assert response.status_code == 302 and response["Location"] == board_url
    deal.refresh_from_db()
    assert (deal.stage.name, deal.probability) == ("Negotiation", 75)


def test_a_stale_move_is_refused_without_change(alice_client, as_alice, pipeline):
    deal = make_deal(as_alice)
    deals.deal_update(deal, actor=as_alice, values={"next_step": "Call"})
    alice_client.post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage(pipeline, "Proposal").pk, "version": 1},
    )
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"


def test_moving_a_deal_one_may_see_but_not_edit_is_a_403(as_alice, bob, pipeline):
    from django.test import Client

    deal = make_deal(as_alice)
    client = Client()
    client.force_login(bob)
    assert client.get(deal.get_absolute_url()).status_code == 200
    response = client.post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stage(pipeline, "Proposal").pk}
    )
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"


def test_dropping_on_lost_asks_for_the_reason(alice_client, as_alice, pipeline):
    deal = make_deal(as_alice)
    lost = pipeline.stages.get(kind="lost")
    response = alice_client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": lost.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("sales:deal_lost", args=[deal.pk]))
    form = alice_client.get(response["Location"])
    assert form.status_code == 200
    refused = alice_client.post(reverse("sales:deal_lost", args=[deal.pk]), {"lost_reason": ""})
    assert refused.status_code == 200 and refused.context["form"].errors
    done = alice_client.post(
        reverse("sales:deal_lost", args=[deal.pk]),
        {"lost_reason": LostReason.objects.get(name="Competitor").pk, "version": deal.version},
    )
    assert done.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.name) == ("lost", "Competitor")


def test_the_deal_page_shows_details_people_items_history_and_panels(alice_client, as_alice, alice):
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    acme = Company.objects.create(name="Acme", owner=alice)
    deal = deals.deal_create(
        actor=as_alice,
        values={"name": "Acme pilot", "amount": "10", "company": acme},
        contacts=[deals.Participant(anna, "champion")],
        line_items=[
            {"name": "Setup <b>fee</b>", "quantity": 2, "unit_price": "50", "tax_rate": "10"}
        ],
    )
    page = alice_client.get(deal.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme pilot" in html and "Anna Berg" in html and "Champion" in html
    assert "Setup &lt;b&gt;fee&lt;/b&gt;" in html and "110.00" in html
    assert 'id="timeline"' in html and 'id="deal-quotes-panel"' in html
    history = alice_client.get(deal.get_absolute_url(), {"tab": "history"})
    assert history.status_code == 200


def test_a_deal_the_user_may_not_see_is_a_404(as_alice, charlie):
    from django.test import Client

    deal = make_deal(as_alice)
    client = Client()
    client.force_login(charlie)
    assert client.get(deal.get_absolute_url()).status_code == 404


def test_creating_and_editing_a_deal_through_the_form(alice_client, pipeline, alice):
    acme = Company.objects.create(name="Acme", owner=alice)
    form = alice_client.get(reverse("sales:deal_create"), {"company": acme.pk})
    assert form.status_code == 200
    bad = alice_client.post(
        reverse("sales:deal_create"),
        {
            "name": "",
            "pipeline": pipeline.pk,
            "amount": "-1",
            "currency": "USD",
            "forecast_category": "pipeline",
        },
    )
    assert bad.status_code == 200 and {"name", "amount"} <= set(bad.context["form"].errors)
    created = alice_client.post(
        reverse("sales:deal_create"),
        {
            "name": "Acme expansion",
            "pipeline": pipeline.pk,
            "company": acme.pk,
            "amount": "2500",
            "currency": "USD",
            "forecast_category": "commit",
            "expected_close_date": "2031-01-31",
        },
    )
    deal = Deal.objects.get(name="Acme expansion")
    assert created.status_code == 302 and created["Location"] == deal.get_absolute_url()
    assert (deal.company, deal.forecast_category, str(deal.expected_close_date)) == (
        acme,
        "commit",
        "2031-01-31",
    )
    edited = alice_client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        {
            "name": "Acme expansion",
            "pipeline": pipeline.pk,
            "stage": stage(pipeline, "Proposal").pk,
            "amount": "3000",
            "currency": "USD",
            "forecast_category": "best_case",
            "probability": "60",
            "version": deal.version,
        },
    )
    assert edited.status_code == 302
    deal.refresh_from_db()
    assert (deal.amount, deal.stage.name, deal.probability) == (Decimal("3000"), "Proposal", 60)


def test_won_and_reopen_buttons(alice_client, as_alice):
    deal = make_deal(as_alice)
    alice_client.post(reverse("sales:deal_won", args=[deal.pk]), {"version": deal.version})
    deal.refresh_from_db()
    assert deal.status == "won"
    alice_client.post(reverse("sales:deal_reopen", args=[deal.pk]), {"version": deal.version})
    deal.refresh_from_db()
    assert deal.status == "open"


def test_line_items_page(alice_client, as_alice):
    deal = make_deal(as_alice)
    data = {
        "version": deal.version,
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "0",
        "items-0-name": "Training",
        "items-0-quantity": "2",
        "items-0-unit_price": "300",
        "items-0-discount_percent": "0",
        "items-1-name": "",
        "items-1-quantity": "1",
        "items-1-discount_percent": "0",
    }
    response = alice_client.post(reverse("sales:deal_line_items", args=[deal.pk]), data)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("600")
    refused = alice_client.post(
        reverse("sales:deal_line_items", args=[deal.pk]),
        data | {"version": deal.version, "items-0-discount_percent": "150"},
    )
    assert refused.status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("600")


def test_people_are_added_and_removed(alice_client, as_alice, alice):
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice)
    deal = make_deal(as_alice)
    alice_client.post(
        reverse("sales:deal_add_participant", args=[deal.pk]), {"contact": anna.pk, "role": "user"}
    )
    assert list(deal.participants.values_list("contact_id", "role")) == [(anna.pk, "user")]
    alice_client.post(reverse("sales:deal_remove_participant", args=[deal.pk, anna.pk]))
    assert not deal.participants.exists()
    lookup = alice_client.get(reverse("contacts:contact_lookup"), {"lookup": "Berg"})
    assert lookup.status_code == 200


def test_the_table_view_lists_filters_and_counts_queries(
    alice_client, as_alice, pipeline, django_assert_max_num_queries
):
    for number in range(8):
        make_deal(as_alice, f"Deal {number}", amount=str(100 * (number + 1)))
    url = reverse("sales:deal_list")
    with django_assert_max_num_queries(16):
        response = alice_client.get(url, {"sort": "-amount"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.name for row, _cells in rows][:2] == ["Deal 7", "Deal 6"]
    filtered = alice_client.get(url, {"amount_min": "650"})
    assert len(filtered.context["rows"]) == 2
    bad = alice_client.get(url, {"sort": "nonsense"})
    assert bad.status_code == 200 and bad.context["filter_errors"]


def test_deals_show_on_company_and_contact_pages(alice_client, as_alice, alice):
    acme = Company.objects.create(name="Acme", owner=alice)
    anna = Contact.objects.create(first_name="Anna", last_name="Berg", owner=alice, company=acme)
    deals.deal_create(
        actor=as_alice,
        values={"name": "Acme pilot", "amount": "10", "company": acme},
        contacts=[deals.Participant(anna)],
    )
    for url in (acme.get_absolute_url(), anna.get_absolute_url()):
        assert "Acme pilot" in alice_client.get(url).content.decode()


def test_pipeline_settings_page_for_admins_only(admin_client, alice_client, pipeline):
    url = reverse("sales:pipeline_settings")
    assert alice_client.get(url).status_code == 403
    assert admin_client.get(url).status_code == 200
    admin_client.post(
        reverse("sales:pipeline_create"), {"new-name": "Renewals", "new-active": "on"}
    )
    renewals = Pipeline.objects.get(name="Renewals")
    admin_client.post(
        reverse("sales:stage_create", args=[renewals.pk]),
        {
            f"new-stage-{renewals.pk}-name": "Contract sent",
            f"new-stage-{renewals.pk}-probability": "90",
        },
    )
    contract = renewals.stages.get(name="Contract sent")
    assert contract.kind == "open" and contract.position < renewals.stages.get(kind="won").position
    admin_client.post(reverse("sales:stage_shift", args=[contract.pk, "up"]))
    names = list(
        renewals.stages.filter(kind="open").order_by("position").values_list("name", flat=True)
    )
    assert names[-2] == "Contract sent"
    refused = admin_client.post(
        reverse("sales:stage_edit", args=[contract.pk]),
        {f"stage-{contract.pk}-name": "Contract sent", f"stage-{contract.pk}-probability": "150"},
    )
    assert refused.status_code == 302
    contract.refresh_from_db()
    assert contract.probability == 90


def test_saved_views_of_deals_open_on_the_board(alice_client, as_alice, alice, pipeline):
    from rapport.core import savedviews

    make_deal(as_alice, "Big one", amount="90000")
    make_deal(as_alice, "Small one", amount="10")
    view = savedviews.saved_view_create(
        actor=as_alice,
        object_type="sales.deal",
        name="Big deals",
        shared=False,
        filters={"amount_min": "1000"},
        columns=[],
        sort="",
    )
    board = alice_client.get(reverse("sales:board", args=[pipeline.pk]))
    link = board.context["saved_views"][0]["url"]
    assert "Big deals" in board.content.decode()
    opened = alice_client.get(link)
    assert opened.status_code == 200 and opened.context["board"].count == 1
    assert view.pk


def live_totals(pipeline: Pipeline) -> dict[int, tuple[int, Decimal, Decimal]]:
    """Each open stage's count, amount and weighted amount counted from the deals."""
    from django.db.models import Count, F, Sum

    rows = (
        Deal.objects.filter(stage__pipeline=pipeline, status="open")
        .values("stage_id")
        .annotate(
            n=Count("id"), a=Sum("amount_base"), w=Sum(F("amount_base") * F("probability") / 100)
        )
    )
    return {row["stage_id"]: (row["n"], Decimal(row["a"]), Decimal(row["w"])) for row in rows}


def kept_totals(pipeline: Pipeline) -> dict[int, tuple[int, Decimal, Decimal]]:
    from rapport.sales.models import DealStageTotal

    kept = {}
    for row in DealStageTotal.objects.filter(stage__pipeline=pipeline, count__gt=0):
        count, amount, weighted = kept.get(row.stage_id, (0, Decimal(0), Decimal(0)))
        kept[row.stage_id] = (count + row.count, amount + row.amount, weighted + row.weighted)
    return kept


def test_the_kept_column_totals_follow_every_kind_of_write(
    as_alice, as_admin, alice, bob, pipeline
):
    from rapport.core import services as records
    from rapport.sales import pipelines

    first = make_deal(as_alice, "One", amount="100")
    second = make_deal(as_alice, "Two", amount="250", stage=stage(pipeline, "Proposal").pk)
    third = make_deal(as_alice, "Three", amount="75.5")
    deals.deal_move(first, actor=as_alice, stage=stage(pipeline, "Negotiation"))
    deals.deal_update(second, actor=as_alice, values={"probability": 90})
    deals.deal_set_line_items(
        third, actor=as_alice, items=[{"name": "Seats", "quantity": 4, "unit_price": "30"}]
    )
    records.record_update(Deal.objects.get(pk=second.pk), actor=as_admin, values={"owner": bob})
    deals.deal_close(Deal.objects.get(pk=first.pk), actor=as_alice, won=True)
    gone = deals.deal_delete(Deal.objects.get(pk=third.pk), actor=as_alice)
    assert kept_totals(pipeline) == live_totals(pipeline)
    records.record_restore(gone, actor=as_admin)
    pipelines.stage_update(
        stage(pipeline, "Qualification"), actor=as_admin, values={"probability": 20}
    )
    assert kept_totals(pipeline) == live_totals(pipeline)


def test_the_board_reads_the_kept_totals_and_counts_when_filtered(
    alice_client, as_alice, alice, bob, pipeline, django_assert_max_num_queries
):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    make_deal(as_alice, "Mine", amount="100")
    make_deal(Actor(user=bob, source=Source.UI), "Bob's", amount="50")
    url = reverse("sales:board", args=[pipeline.pk])
    board = alice_client.get(url).context["board"]
    assert (board.count, board.amount) == (2, Decimal("150"))
    mine = alice_client.get(url, {"owner": "me"}).context["board"]
    assert (mine.count, mine.amount) == (1, Decimal("100"))
    searched = alice_client.get(url, {"q": "bob"}).context["board"]
    assert searched.count == 1 and searched.columns[0].cards[0].name == "Bob's"


def test_pipeline_settings_refuse_bad_input_with_a_message(admin_client, pipeline):
    qualification = stage(pipeline, "Qualification")
    sideways = admin_client.post(reverse("sales:stage_shift", args=[qualification.pk, "sideways"]))
    assert sideways.status_code == 404
    blank = admin_client.post(
        reverse("sales:lost_reason_create"), {"new-reason-name": ""}, follow=True
    )
    assert "Give the lost reason a name." in blank.content.decode()
    taken = admin_client.post(
        reverse("sales:lost_reason_create"), {"new-reason-name": "Price"}, follow=True
    )
    assert taken.status_code == 200
    assert LostReason.objects.filter(name="Price").count() == 1
