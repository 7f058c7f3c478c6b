"""Forms of the email pages: a template, and an email to a contact."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User
from rapport.activities.models import MAX_BODY_CHARS, Activity
from rapport.mail.merge import field_names
from rapport.mail.models import SUBJECT_MAX_LENGTH, EmailTemplate, Mailbox

# A subject before its merge fields are filled in may be longer than the one sent.
RAW_SUBJECT_MAX_LENGTH = 4 * SUBJECT_MAX_LENGTH
ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def merge_help() -> str:
    return _('Merge fields: %(fields)s. A fallback: {{ contact.first_name|default:"there" }}.') % {
        "fields": ", ".join("{{ " + name + " }}" for name in field_names())
    }


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH)
    body = forms.CharField(
        label=_("Text"), max_length=MAX_BODY_CHARS, widget=forms.Textarea(attrs={"rows": 12})
    )
    shared = forms.BooleanField(
        label=_("Shared"), required=False, help_text=_("Offer it to everyone.")
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = merge_help()
        if not user.is_admin:
            del self.fields["shared"]


class ComposeForm(forms.Form):
    to = forms.ChoiceField(label=_("To"))
    cc = forms.CharField(
        label=_("Cc"),
        required=False,
        max_length=2000,
        help_text=_("Addresses separated by commas."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=RAW_SUBJECT_MAX_LENGTH)
    body = forms.CharField(
        label=_("Text"), max_length=MAX_BODY_CHARS, widget=forms.Textarea(attrs={"rows": 14})
    )
    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.none(), required=False, widget=forms.HiddenInput
    )

    replying_to = forms.ModelChoiceField(
        queryset=Activity.objects.none(), required=False, widget=forms.HiddenInput
    )

    def __init__(
        self, *args: Any, addresses: list[str], templates: Any, emails: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(address, address) for address in addresses]
        self.fields["template"].queryset = templates
        self.fields["replying_to"].queryset = emails
        self.fields["body"].help_text = merge_help()

    def clean_cc(self) -> list[str]:
        return [part for part in ADDRESS_SEPARATORS.split(self.cleaned_data["cc"]) if part]


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted. Leave blank to keep the current one."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "address",
            "host",
            "port",
            "security",
            "username",
            "password",
            "inbox_folder",
            "sent_folder",
            "team",
            "shared",
            "create_contacts",
            "active",
        ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.all() if user.is_admin else user.teams.all()
        self.fields["team"].queryset = teams.order_by("name")
        if self.instance.pk is None:
            self.fields["password"].help_text = _("Stored encrypted; never shown again.")
            del self.fields["active"]
