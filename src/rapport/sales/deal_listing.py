"""The deal table: the record list page of the contacts app (filters, quick search,
sort, chosen columns, keyset pages, saved views, bulk owner change, delete and CSV
export) given the deal's columns and query. The board reads the same filters, so a
saved view opens on either."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from rapport.contacts import bulk_actions
from rapport.contacts.columns import (
    Column,
    attr_of,
    display_of,
    owner_column,
    record_url,
    register_columns,
    related_url,
    team_column,
    timestamp_columns,
)
from rapport.contacts.exports import register_export
from rapport.contacts.forms import BulkAction
from rapport.contacts.listing import Listing, register_listing, render_list, run_bulk, save_view
from rapport.sales.deal_queries import deal_list
from rapport.sales.models import Deal
from rapport.sales.templatetags.money import amount


def _amount(deal: Deal) -> str:
    return f"{amount(deal.amount, deal.currency.decimal_places)} {deal.currency_id}"


def _base_amount(deal: Deal) -> str:
    return amount(deal.amount_base)


DEAL_COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("Name"), str, sort="name", default=True, link=record_url),
    Column(
        "company",
        gettext_lazy("Company"),
        attr_of("company"),
        sort="company",
        default=True,
        select_related=("company",),
        link=related_url("company"),
    ),
    Column(
        "stage",
        gettext_lazy("Stage"),
        attr_of("stage"),
        sort="stage",
        default=True,
        select_related=("stage",),
    ),
    Column("status", gettext_lazy("Status"), display_of("status"), sort="status"),
    Column(
        "amount",
        gettext_lazy("Amount"),
        _amount,
        sort="amount",
        default=True,
        numeric=True,
        select_related=("currency",),
    ),
    Column(
        "amount_base",
        gettext_lazy("Amount (base currency)"),
        _base_amount,
        sort="amount",
        numeric=True,
    ),
    Column(
        "probability",
        gettext_lazy("Probability"),
        attr_of("probability"),
        sort="probability",
        numeric=True,
    ),
    Column(
        "expected_close_date",
        gettext_lazy("Expected close"),
        attr_of("expected_close_date"),
        sort="expected_close_date",
        default=True,
    ),
    Column(
        "pipeline",
        gettext_lazy("Pipeline"),
        attr_of("pipeline"),
        select_related=("pipeline",),
    ),
    Column("forecast_category", gettext_lazy("Forecast category"), display_of("forecast_category")),
    Column("next_step", gettext_lazy("Next step"), attr_of("next_step")),
    Column("source", gettext_lazy("Source"), attr_of("source")),
    Column("closed_at", gettext_lazy("Closed"), attr_of("closed_at"), sort="closed_at"),
    Column(
        "lost_reason",
        gettext_lazy("Lost reason"),
        attr_of("lost_reason"),
        select_related=("lost_reason",),
    ),
    owner_column(),
    team_column(),
    *timestamp_columns(),
)

DEALS = Listing(
    model=Deal,
    query=deal_list,
    url_name="sales:deal_list",
    create_url="sales:deal_create",
    bulk_url="sales:deal_bulk",
    save_view_url="sales:deal_save_view",
    merge_url="",
    title=gettext_lazy("Deals"),
    create_label=gettext_lazy("New deal"),
    empty=gettext_lazy("No deals yet. Create the first one."),
    no_match=gettext_lazy("No deal matches these filters."),
    actions=(BulkAction.ASSIGN_OWNER, BulkAction.EXPORT, BulkAction.DELETE),
    count_text=lambda count: ngettext("%(count)s deal", "%(count)s deals", count),
)


def register() -> None:
    """Serve the deal table through the record list machinery (``SalesConfig.ready``)."""
    register_columns(Deal, DEAL_COLUMNS)
    register_listing(DEALS)
    bulk_actions.register(
        DEALS.object_type, deal_list, (BulkAction.ASSIGN_OWNER, BulkAction.DELETE)
    )
    register_export(
        "deals",
        Deal,
        deal_list,
        lambda count: ngettext("%(count)d deal exported.", "%(count)d deals exported.", count),
    )


@login_required
def deal_list_page(request: HttpRequest) -> HttpResponse:
    return render_list(request, DEALS)


@login_required
@require_POST
def deal_bulk(request: HttpRequest) -> HttpResponse:
    return run_bulk(request, DEALS)


@login_required
@require_POST
def deal_save_view(request: HttpRequest) -> HttpResponse:
    return save_view(request, DEALS)
