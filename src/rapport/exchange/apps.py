from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "rapport.exchange"
    label = "exchange"
    verbose_name = _("Data exchange")

    def ready(self) -> None:
        # Imported for the background jobs they register: imports, their rollback, exports.
        from rapport.exchange import import_rollback, imports  # noqa: F401
