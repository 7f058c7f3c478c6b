from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Registers products with global search.
        from rapport.core import panels

        # Schedules the sweep of old idempotency keys on import.
        from rapport.sales import (
            idempotency,  # noqa: F401
            search,  # noqa: F401
        )
        from rapport.sales.order_panels import PANEL as PURCHASES_PANEL
        from rapport.web.navigation import Item, add_item, admins

        panels.register(PURCHASES_PANEL)

        add_item("main", Item(_("Quotes"), "sales:quote_list"))
        add_item("main", Item(_("Orders"), "sales:order_list"))
        add_item("main", Item(_("Products"), "sales:product_list"))
        add_item("settings", Item(_("Price books"), "sales:price_book_list", admins))
        add_item("settings", Item(_("Currencies"), "sales:currency_list", admins))
