from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        # The consent panel, the web-form consent handler, the export job and the
        # retention sweep register themselves on import.
        from rapport.core import events, panels
        from rapport.privacy import consent, exports, retention, views  # noqa: F401
        from rapport.web.navigation import Item, add_item, admins

        panels.register(views.CONSENT_PANEL)
        events.subscribe("lead.converted", consent.on_lead_converted)
        events.subscribe("contact.merged", consent.on_contact_merged)
        add_item("settings", Item(_("Privacy"), "privacy:settings", admins))
