from django.apps import AppConfig


class TestingConfig(AppConfig):
    name = "rapport.testing"
    label = "testing"
    verbose_name = "Test fixtures"
