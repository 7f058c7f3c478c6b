from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Imported for what they register: products, leads, deals, orders and quotes with
        # global search; the lead rescoring job; the worker's sweeps of web form counters,
        # old idempotency keys and expired quotes. Then: the handlers that rescore leads
        # when activities change and file emails received from leads on their timelines,
        # the deal table with the record list machinery, lead and product exports, deal
        # stage moves with the timeline, the board's totals kept with every deal write, and
        # the deals,
        # purchase history and quotes panels of record pages.
        from rapport.core import panels
        from rapport.core.services import on_write
        from rapport.sales import (  # noqa: F401
            board_totals,
            deal_listing,
            deal_panels,
            exports,
            idempotency,
            lead_mail,
            lead_search,
            order_search,
            quotes,
            scoring,
            search,
            timeline,
            webforms,
        )
        from rapport.sales.models import Deal
        from rapport.sales.order_panels import DEAL_PANEL
        from rapport.sales.order_panels import PANEL as PURCHASES_PANEL
        from rapport.web.navigation import Item, add_item, admins

        scoring.subscribe_all()
        lead_mail.subscribe_all()
        deal_listing.register()
        exports.register()
        timeline.register()
        on_write(Deal, board_totals.on_deal_written)
        panels.register(deal_panels.PANEL)
        panels.register(PURCHASES_PANEL)
        panels.register(DEAL_PANEL)
        add_item("main", Item(_("Leads"), "sales:lead_list"))
        add_item("main", Item(_("Pipeline"), "sales:board_default"))
        add_item("main", Item(_("Deals"), "sales:deal_list"))
        add_item("main", Item(_("Quotes"), "sales:quote_list"))
        add_item("main", Item(_("Orders"), "sales:order_list"))
        add_item("main", Item(_("Forecast"), "sales:forecast"))
        add_item("main", Item(_("Sales metrics"), "sales:metrics"))
        add_item("main", Item(_("Products"), "sales:product_list"))
        add_item("settings", Item(_("Pipelines"), "sales:pipeline_settings", admins))
        add_item("settings", Item(_("Price books"), "sales:price_book_list", admins))
        add_item("settings", Item(_("Currencies"), "sales:currency_list", admins))
        add_item("settings", Item(_("Web forms"), "sales:webform_list", admins))
        add_item("settings", Item(_("Lead scoring"), "sales:scoring_rule_list", admins))
        add_item("settings", Item(_("Lead routing"), "sales:routing_rule_list", admins))
