from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "rapport.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Registers the daily digest with the worker's schedule.
        from rapport.notifications import digest  # noqa: F401
        from rapport.web.navigation import Item, add_item

        add_item("work", Item(_("Notifications"), "notifications:centre"), position=0)
