from django.apps import AppConfig


class TestingConfig(AppConfig):
    name = "rapport.testing"
    label = "testing"
    verbose_name = "Test fixtures"

    def ready(self) -> None:
        from rapport.testing import handlers

        handlers.register()
