from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Registers products and deals with global search, the deal table with the record
        # list machinery, deal stage moves with the timeline, and the deals panel of company
        # and contact pages.
        from rapport.core import panels
        from rapport.sales import deal_listing, deal_panels, search, timeline  # noqa: F401
        from rapport.web.navigation import Item, add_item, admins

        deal_listing.register()
        timeline.register()
        panels.register(deal_panels.PANEL)
        add_item("main", Item(_("Pipeline"), "sales:board_default"))
        add_item("main", Item(_("Deals"), "sales:deal_list"))
        add_item("main", Item(_("Forecast"), "sales:forecast"))
        add_item("main", Item(_("Sales metrics"), "sales:metrics"))
        add_item("main", Item(_("Products"), "sales:product_list"))
        add_item("settings", Item(_("Pipelines"), "sales:pipeline_settings", admins))
        add_item("settings", Item(_("Price books"), "sales:price_book_list", admins))
        add_item("settings", Item(_("Currencies"), "sales:currency_list", admins))
