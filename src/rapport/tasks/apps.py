from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "rapport.tasks"
    label = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        # The reminder job registers itself with the worker's schedule on import.
        from rapport.core import panels, timeline
        from rapport.tasks import engagement, reminders  # noqa: F401
        from rapport.tasks.panels import PANEL
        from rapport.tasks.timeline import TaskSource
        from rapport.web.navigation import Item, add_item

        engagement.register()
        panels.register(PANEL)
        timeline.register(TaskSource())
        add_item("work", Item(_("My work"), "tasks:my_work"), position=0)
