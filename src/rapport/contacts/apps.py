from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "rapport.contacts"
    label = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        # Registers companies and contacts with global search, and the export, bulk and
        # duplicate jobs.
        from rapport.contacts import bulk_actions, dedupe, duplicates, exports, search  # noqa: F401
        from rapport.web.navigation import Item, add_item, admins

        add_item("main", Item(_("Companies"), "contacts:company_list"))
        add_item("main", Item(_("Contacts"), "contacts:contact_list"))
        add_item("main", Item(_("Lists"), "contacts:list_index"))
        add_item("main", Item(_("Duplicates"), "contacts:duplicate_list", dedupe.may_review))
        add_item("settings", Item(_("Tags"), "contacts:tag_list", admins), position=4)
