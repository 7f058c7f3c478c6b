from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Registers the system checks, the built-in job handlers and scheduled upkeep.
        from rapport.core import checks, jobs, maintenance, panels, throttle  # noqa: F401
        from rapport.core.views import shares

        panels.register(shares.PANEL)
