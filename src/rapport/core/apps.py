from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Registers the system checks and the built-in job handlers.
        from rapport.core import checks, jobs  # noqa: F401
