from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Registers products and leads with global search, the rescoring job, the
        # counters' sweep, the handler that rescores leads when activities change and
        # the one that files emails received from leads on their timelines.
        from rapport.sales import lead_mail, lead_search, scoring, search, webforms  # noqa: F401
        from rapport.web.navigation import Item, add_item, admins

        scoring.subscribe_all()
        lead_mail.subscribe_all()
        add_item("main", Item(_("Leads"), "sales:lead_list"))
        add_item("main", Item(_("Products"), "sales:product_list"))
        add_item("settings", Item(_("Price books"), "sales:price_book_list", admins))
        add_item("settings", Item(_("Currencies"), "sales:currency_list", admins))
        add_item("settings", Item(_("Web forms"), "sales:webform_list", admins))
        add_item("settings", Item(_("Lead scoring"), "sales:scoring_rule_list", admins))
        add_item("settings", Item(_("Lead routing"), "sales:routing_rule_list", admins))
