from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttachmentsConfig(AppConfig):
    name = "rapport.attachments"
    label = "attachments"
    verbose_name = _("Attachments")

    def ready(self) -> None:
        from rapport.attachments import services, views
        from rapport.core import events, panels

        panels.register(
            panels.Panel(
                key="attachments",
                title=_("Attachments"),
                template="attachments/_panel.html",
                context=views.panel_context,
                order=50,
            )
        )
        # Purging a record takes its files with it; trashing keeps them for a restore.
        events.subscribe("*", services.on_record_purged)
