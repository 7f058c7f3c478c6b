from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def may_import_anything(request: HttpRequest) -> bool:
    from rapport.exchange.import_forms import allowed_types

    return request.user.is_authenticated and bool(allowed_types(request.user))


class ExchangeConfig(AppConfig):
    name = "rapport.exchange"
    label = "exchange"
    verbose_name = _("Data exchange")

    def ready(self) -> None:
        # Imported for the background jobs they register: imports, their rollback, exports,
        # the vCard export.
        from rapport.exchange import import_rollback, imports, vcard_jobs  # noqa: F401
        from rapport.web.navigation import Item, add_item

        add_item("main", Item(_("Import"), "exchange:import_list", may_import_anything))
