from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarConfig(AppConfig):
    name = "rapport.calendar"
    label = "calendar"
    verbose_name = _("Calendar")

    def ready(self) -> None:
        from rapport.web.navigation import Item, add_item

        add_item("work", Item(_("Calendar"), "calendar:agenda"), position=1)
