"""What global search knows of products: SKU, name and description (registered with
``core.search``), so "WID-100" or "widget" finds the product. Search shows only the
products the user may see."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.sales.models import Product


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
