from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "rapport.mail"
    label = "mail"
    verbose_name = _("Email")

    def ready(self) -> None:
        # The delivery sweep and the mailbox sync register themselves with the worker's
        # schedule on import; the timeline reads each email's delivery with its activity.
        from rapport.activities import queries
        from rapport.mail import delivery, imap  # noqa: F401
        from rapport.web.navigation import Item, add_item

        queries.read_with_timeline("outgoing_email")
        add_item("work", Item(_("Email templates"), "mail:template_list"))
        add_item("work", Item(_("Mailboxes"), "mail:mailbox_list"))
