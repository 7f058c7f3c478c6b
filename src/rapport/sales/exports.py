"""Leads and products join the list exports (``contacts.exports``): their columns and
their list queries, so ``rapport export``, the API and the list pages' Export button
export them with the same filters."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, ngettext

from rapport.contacts.columns import (
    Column,
    attr_of,
    display_of,
    owner_column,
    register_columns,
    team_column,
    timestamp_columns,
)
from rapport.contacts.exports import register_export
from rapport.sales import lead_queries, queries
from rapport.sales.models import Lead, Product

LEAD_COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("Name"), str, default=True),
    Column("email", gettext_lazy("Email"), attr_of("email"), default=True),
    Column("phone", gettext_lazy("Phone"), attr_of("phone"), default=True),
    Column("company_name", gettext_lazy("Company"), attr_of("company_name"), default=True),
    Column("job_title", gettext_lazy("Job title"), attr_of("job_title")),
    Column("website", gettext_lazy("Website"), attr_of("website")),
    Column("country", gettext_lazy("Country"), attr_of("country")),
    Column("source", gettext_lazy("Source"), display_of("source"), default=True),
    Column("status", gettext_lazy("Status"), display_of("status"), default=True),
    Column("score", gettext_lazy("Score"), attr_of("score"), default=True, numeric=True),
    owner_column(),
    team_column(),
    *timestamp_columns(),
)

PRODUCT_COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("Name"), attr_of("name"), default=True),
    Column("sku", gettext_lazy("SKU"), attr_of("sku"), default=True),
    Column("description", gettext_lazy("Description"), attr_of("description")),
    Column("tax_rate", gettext_lazy("Tax rate"), attr_of("tax_rate"), default=True, numeric=True),
    Column("active", gettext_lazy("Active"), attr_of("active"), default=True),
    Column("stock_on_hand", gettext_lazy("Stock on hand"), attr_of("stock_on_hand"), numeric=True),
    Column(
        "reserved_quantity", gettext_lazy("Reserved"), attr_of("reserved_quantity"), numeric=True
    ),
    owner_column(),
    *timestamp_columns(),
)


def register() -> None:
    register_columns(Lead, LEAD_COLUMNS)
    register_columns(Product, PRODUCT_COLUMNS)
    register_export(
        "leads",
        Lead,
        lead_queries.lead_list,
        lambda count: ngettext("%(count)d lead exported.", "%(count)d leads exported.", count),
    )
    register_export(
        "products",
        Product,
        queries.product_list,
        lambda count: ngettext(
            "%(count)d product exported.", "%(count)d products exported.", count
        ),
    )
