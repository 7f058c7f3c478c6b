from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "rapport.tasks"
    label = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        # The reminder job registers itself with the worker's schedule on import.
        from rapport.core import panels, timeline, timeline_api
        from rapport.core.services import on_restore
        from rapport.tasks import engagement, reminders  # noqa: F401
        from rapport.tasks.models import Task
        from rapport.tasks.panels import PANEL
        from rapport.tasks.services import refresh_linked_records
        from rapport.tasks.timeline import API_SHAPE, TaskSource
        from rapport.web.navigation import Item, add_item

        engagement.register()
        on_restore(Task, refresh_linked_records)
        panels.register(PANEL)
        timeline.register(TaskSource())
        timeline_api.register(TaskSource.key, API_SHAPE)
        add_item("work", Item(_("My work"), "tasks:my_work"), position=0)
