from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from rapport.core import panels

        # Imported for what they register: products, orders and quotes with global
        # search, and the sweep of old idempotency keys with the worker's schedule.
        from rapport.sales import idempotency, order_search, search  # noqa: F401
        from rapport.sales.order_panels import DEAL_PANEL
        from rapport.sales.order_panels import PANEL as PURCHASES_PANEL
        from rapport.web.navigation import Item, add_item, admins

        panels.register(PURCHASES_PANEL)
        panels.register(DEAL_PANEL)

        add_item("main", Item(_("Quotes"), "sales:quote_list"))
        add_item("main", Item(_("Orders"), "sales:order_list"))
        add_item("main", Item(_("Products"), "sales:product_list"))
        add_item("settings", Item(_("Price books"), "sales:price_book_list", admins))
        add_item("settings", Item(_("Currencies"), "sales:currency_list", admins))
