"""What global search knows of products (SKU, name and description, so "WID-100" or
"widget" finds the product) and of deals (name, next step, description); registered with
``core.search``, which shows only the records the user may see."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.sales.models import Deal, Product


def product_text(product: Product) -> list[str]:
    return [product.sku, product.name, product.description]


def products_text(pks: list[int]) -> dict[int, list[str]]:
    """``product_text`` of many products, read as plain values (for ``search.reindex``)."""
    rows = Product.all_objects.filter(pk__in=pks).values_list("pk", "sku", "name", "description")
    return {pk: [sku, name, description] for pk, sku, name, description in rows}


def _subtitle(product: Product) -> str:
    return product.sku if product.active else f"{product.sku} · {_('inactive')}"


search.register(
    Product,
    label=_("Products"),
    text=product_text,
    title=lambda product: product.name,
    subtitle=_subtitle,
    url=lambda product: product.get_absolute_url(),
    bulk_text=products_text,
)


def deal_text(deal: Deal) -> list[str]:
    return [deal.name, deal.next_step, deal.description]


def deals_text(pks: list[int]) -> dict[int, list[str]]:
    """``deal_text`` of many deals, read as plain values (for ``search.reindex``)."""
    rows = Deal.all_objects.filter(pk__in=pks).values_list("pk", "name", "next_step", "description")
    return {pk: [name, next_step, description] for pk, name, next_step, description in rows}


def _deal_subtitle(deal: Deal) -> str:
    return f"{deal.stage.name} · {deal.amount.normalize():f} {deal.currency_id}"


search.register(
    Deal,
    label=_("Deals"),
    text=deal_text,
    title=lambda deal: deal.name,
    subtitle=_deal_subtitle,
    url=lambda deal: deal.get_absolute_url(),
    queryset=lambda: Deal.objects.select_related("stage"),
    bulk_text=deals_text,
)
