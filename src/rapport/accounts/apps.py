from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rapport.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the purge of old sign-in events with the worker's schedule.
        from rapport.accounts import signin  # noqa: F401
