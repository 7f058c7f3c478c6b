"""Forms of the accounts pages.

They parse what a page posts into the arguments of ``accounts.services``;
the services hold the rules, and ``apply_service_errors`` shows the errors
they raise on the form, next to the field they name.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import (
    ACTIONS,
    TIMEZONE_CHOICES,
    FieldAccess,
    Role,
    Scope,
    Team,
    TokenScope,
    User,
)
from rapport.core.permissions import object_type, rule_fields, sensitive_custom_fields
from rapport.core.registry import record_models

ALL_OTHER_RECORDS = "*"
ACTION_LABELS = {
    "view": _("View"),
    "create": _("Create"),
    "edit": _("Edit"),
    "delete": _("Delete"),
    "export": _("Export"),
    "import": _("Import"),
    "merge": _("Merge"),
}
# Short scope names keep the seven columns of the matrix within a screen.
MATRIX_SCOPES = [
    (Scope.NONE, _("None")),
    (Scope.OWN, _("Own")),
    (Scope.TEAM, _("Team")),
    (Scope.ALL, _("All")),
]


def timezone_field() -> forms.CharField:
    return forms.CharField(
        label=_("Time zone"), initial="UTC", widget=forms.Select(choices=TIMEZONE_CHOICES)
    )


def language_field() -> forms.CharField:
    return forms.CharField(
        label=_("Language"),
        initial=settings.LANGUAGE_CODE,
        widget=forms.Select(choices=settings.LANGUAGES),
    )


class PersonLabelMixin:
    """Names people by name and email: two colleagues may share a name."""

    def label_from_instance(self, obj: User) -> str:
        return f"{obj} <{obj.email}>" if obj.get_full_name() else obj.email


class PersonChoiceField(PersonLabelMixin, forms.ModelChoiceField):
    pass


class PeopleChoiceField(PersonLabelMixin, forms.ModelMultipleChoiceField):
    pass


class LoginForm(AuthenticationForm):
    """Email and password; the backend matches the email case-insensitively."""

    username = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The email address or the password is wrong. Please try again."),
    }


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    timezone = timezone_field()
    language = language_field()


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “Accounting sync”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ
    )
    valid_until = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The token stops working at the end of this day."),
    )

    def clean_valid_until(self) -> datetime.date | None:
        day = self.cleaned_data["valid_until"]
        if day is not None and day < timezone.localdate():
            raise ValidationError(_("Choose today or a later day."))
        return day

    def expires_at(self) -> datetime.datetime | None:
        """The end of the chosen day in the user's time zone."""
        day = self.cleaned_data["valid_until"]
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))


class UserForm(forms.Form):
    email = forms.CharField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    role = forms.ModelChoiceField(
        label=_("Role"),
        queryset=Role.objects.all(),
        required=False,
        empty_label=_("No role: sees no records"),
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.all(), required=False
    )
    timezone = timezone_field()
    language = language_field()


class UserCreateForm(UserForm):
    password = forms.CharField(
        label=_("Password (optional)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to let the person choose one through the invitation."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = format_html(
            "{}{}", self.fields["password"].help_text, password_validators_help_text_html()
        )

    send_invitation = forms.BooleanField(
        label=_("Send an invitation email"), required=False, initial=True
    )


class UserEditForm(UserForm):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Inactive users cannot sign in; their records stay."),
    )


class UserFilterForm(forms.Form):
    """The filters of the user list; a value that does not parse is ignored."""

    ACTIVE_CHOICES = [("", _("Any")), ("yes", _("Active")), ("no", _("Inactive"))]

    q = forms.CharField(label=_("Name or email"), required=False, max_length=100)
    role = forms.ModelChoiceField(
        label=_("Role"), queryset=Role.objects.all(), required=False, empty_label=_("Any")
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("Any")
    )
    active = forms.ChoiceField(label=_("Status"), choices=ACTIVE_CHOICES, required=False)

    def filter(self, users: QuerySet[User]) -> QuerySet[User]:
        self.is_valid()
        values = self.cleaned_data
        if query := values.get("q", "").strip():
            users = users.filter(
                Q(first_name__icontains=query)
                | Q(last_name__icontains=query)
                | Q(email__icontains=query)
            )
        if values.get("role"):
            users = users.filter(role=values["role"])
        if values.get("team"):
            users = users.filter(teams=values["team"])
        if values.get("active"):
            users = users.filter(is_active=values["active"] == "yes")
        return users


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    manager = PersonChoiceField(label=_("Manager"), queryset=User.objects.all(), required=False)
    members = PeopleChoiceField(label=_("Members"), queryset=User.objects.all(), required=False)


class TeamEditForm(TeamForm):
    # The version the page showed; the service refuses the write if it moved on.
    version = forms.IntegerField(widget=forms.HiddenInput)


class ConfirmForm(forms.Form):
    """A delete confirmation: nothing to fill in, a place to show why it was refused."""


class VersionedConfirmForm(ConfirmForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    is_admin = forms.BooleanField(
        label=_("Admin"),
        required=False,
        help_text=_("Admins also manage users, teams, roles and settings."),
    )
    requires_two_factor = forms.BooleanField(
        label=_("Requires two-factor sign-in"),
        required=False,
        help_text=_(
            "People with this role must sign in with a code from an authenticator app; "
            "those who have not set one up are asked to at their next sign-in."
        ),
    )

    def __init__(self, *args: Any, role: Role | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if role is not None and role.is_system:
            for name in ("name", "is_admin"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Built-in roles keep their name and admin flag.")


def record_object_types() -> list[tuple[str, str]]:
    """``(object_type, label)`` of every installed kind of record, so a new domain's
    objects appear in the role editor without being listed anywhere."""
    return sorted(
        (object_type(model), str(capfirst(model._meta.verbose_name_plural)))
        for model in record_models()
    )


class PermissionMatrixForm(forms.Form):
    """One scope per object type and action.

    A row shows what the role grants today (an object type without grants of
    its own follows “All other records”). On saving, a row left equal to
    “All other records” is dropped so it keeps following it, and grants for
    object types no longer installed are kept as they were.
    """

    def __init__(self, *args: Any, permissions: dict[str, dict[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.permissions = permissions
        self.object_types = [(ALL_OTHER_RECORDS, str(_("All other records")))]
        self.object_types += record_object_types()
        fallback = permissions.get(ALL_OTHER_RECORDS) or {}
        for type_name, label in self.object_types:
            grants = permissions.get(type_name) or fallback
            for action in ACTIONS:
                action_label = ACTION_LABELS.get(action, capfirst(action))
                self.fields[self.field_name(type_name, action)] = forms.CharField(
                    label=f"{label}: {action_label}",
                    initial=grants.get(action, Scope.NONE),
                    widget=forms.Select(
                        choices=MATRIX_SCOPES, attrs={"aria-label": f"{label}: {action_label}"}
                    ),
                )

    @staticmethod
    def field_name(type_name: str, action: str) -> str:
        return f"grant-{type_name}-{action}"

    def actions(self) -> list[str]:
        return [str(ACTION_LABELS.get(action, capfirst(action))) for action in ACTIONS]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "object_type": type_name,
                "label": label,
                "cells": [self[self.field_name(type_name, action)] for action in ACTIONS],
            }
            for type_name, label in self.object_types
        ]

    def grants(self) -> dict[str, dict[str, str]]:
        shown = {type_name for type_name, _label in self.object_types}
        result = {name: grants for name, grants in self.permissions.items() if name not in shown}
        # "*" comes first, so the rows after it can be compared with it.
        for type_name, _label in self.object_types:
            row = {
                action: self.cleaned_data[self.field_name(type_name, action)] for action in ACTIONS
            }
            if type_name == ALL_OTHER_RECORDS or row != result[ALL_OTHER_RECORDS]:
                result[type_name] = row
        return result


class FieldRulesForm(forms.Form):
    """Per object type, each field a rule may name with its access for the role: normal,
    read-only or hidden. Sensitive custom fields start hidden unless the role is an
    admin role or its rules name them."""

    def __init__(self, *args: Any, role: Role | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        rules = role.field_rules if role is not None else {}
        shows_sensitive = role is not None and role.is_admin
        models = {object_type(model): model for model in record_models()}
        self.groups: list[dict[str, Any]] = []
        for type_name, label in record_object_types():
            model = models[type_name]
            sensitive = sensitive_custom_fields(model)
            names = []
            for name, field_label in rule_fields(model):
                default = (
                    FieldAccess.HIDDEN
                    if name in sensitive and not shows_sensitive
                    else FieldAccess.NORMAL
                )
                field_name = self.field_name(type_name, name)
                self.fields[field_name] = forms.ChoiceField(
                    label=f"{label}: {capfirst(field_label)}",
                    choices=FieldAccess.choices,
                    # Left out of a post: stays as it was.
                    required=False,
                    initial=(rules.get(type_name) or {}).get(name, default),
                    widget=forms.Select(attrs={"aria-label": f"{label}: {capfirst(field_label)}"}),
                )
                names.append((name, capfirst(field_label), name in sensitive, field_name))
            self.groups.append({"object_type": type_name, "label": label, "fields": names})

    @staticmethod
    def field_name(type_name: str, name: str) -> str:
        return f"field-{type_name}-{name}"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                **group,
                "restricted": sum(
                    1
                    for *_rest, field_name in group["fields"]
                    if self[field_name].value() != FieldAccess.NORMAL
                ),
                "cells": [
                    {
                        "name": name,
                        "label": label,
                        "sensitive": sensitive,
                        "field": self[field_name],
                    }
                    for name, label, sensitive, field_name in group["fields"]
                ],
            }
            for group in self.groups
        ]

    def rules(self) -> dict[str, dict[str, str]]:
        return {
            group["object_type"]: {
                name: self.cleaned_data[field_name] or self.fields[field_name].initial
                for name, _label, _sensitive, field_name in group["fields"]
            }
            for group in self.groups
        }


class TwoFactorCodeForm(forms.Form):
    """A six-digit code from the authenticator app (or, where allowed, a recovery code)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class SignInCodeForm(TwoFactorCodeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _(
            "The six digits your authenticator app shows, or one of your recovery codes."
        )


class CurrentPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TwoFactorDisableForm(CurrentPasswordForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("A code from your authenticator app, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )
