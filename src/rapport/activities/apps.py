from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "rapport.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        # Registers the timeline sources, global search, the engagement sweep, the
        # handlers of merged and purged records, and the timeline panel of every record.
        from rapport.activities import engagement, handlers, search, timeline, views  # noqa: F401
        from rapport.activities.links import is_linkable
        from rapport.core import panels

        handlers.subscribe_all()
        panels.register(
            panels.Panel(
                key="timeline",
                title=_("Timeline"),
                template="activities/_timeline_panel.html",
                context=views.timeline_panel,
                applies_to=is_linkable,
                order=10,
                wide=True,
            )
        )
