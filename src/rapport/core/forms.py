"""Forms of the core pages (custom field definitions, the audit browser's filters) and how
every page shows a service's refusal on its form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.accounts.models import User
from rapport.core.exceptions import VersionConflict
from rapport.core.models import AuditAction, CustomFieldDefinition, FieldType, Source
from rapport.core.permissions import CUSTOM_RULE_PREFIX, hidden_fields, read_only_fields
from rapport.core.registry import record_models

T = TypeVar("T")
NUMBER_RULES = ("min", "max")
TEXT_RULES = ("min_length", "max_length", "pattern")


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: on its field when the form
    has one by that name, else above the form."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, messages in error.message_dict.items():
        field = name.replace(".", "_")
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def rule_name(form_field: str) -> str:
    """The name field rules give a form field: ``custom_<key>`` is ``custom.<key>``."""
    if form_field.startswith("custom_"):
        return f"{CUSTOM_RULE_PREFIX}{form_field.removeprefix('custom_')}"
    return form_field


FormT = TypeVar("FormT", bound=forms.Form)


def apply_field_rules(form: FormT, user: User | None, model: type[models.Model]) -> FormT:
    """Drop the fields of ``form`` that ``user``'s role hides on ``model`` and disable
    the read-only ones (a disabled field keeps its initial value, so the service sees
    no change of it); the record services refuse such writes whatever the form sent."""
    hidden, read_only = hidden_fields(user, model), read_only_fields(user, model)
    for name in list(form.fields):
        rule = rule_name(name)
        if rule in hidden:
            del form.fields[name]
        elif rule in read_only:
            form.fields[name].disabled = True
    return form


def call_service(
    form: forms.Form, call: Callable[[], T], *, conflict: str | Promise = ""
) -> T | None:
    """``call()`` a service for a bound, valid form: its answer, or ``None`` when it
    refused, its reasons shown on the form (``apply_service_errors``) and a stale
    version as ``conflict``, the page's "someone else changed it" message."""
    try:
        return call()
    except VersionConflict:
        form.add_error(None, conflict or _("Someone else changed this since you opened it."))
    except ValidationError as error:
        apply_service_errors(form, error)
    return None


def record_type_choices() -> list[tuple[int, str]]:
    return [
        (
            ContentType.objects.get_for_model(model).pk,
            capfirst(model._meta.verbose_name_plural),
        )
        for model in record_models()
    ]


class CustomFieldForm(forms.Form):
    content_type = forms.TypedChoiceField(label=_("Object type"), coerce=int)
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(
        label=pgettext_lazy("custom field", "Key"),
        max_length=60,
        help_text=_("Name in the API and in imports: lower case letters, digits and _."),
    )
    field_type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    required = forms.BooleanField(label=_("Required"), required=False)
    sensitive = forms.BooleanField(
        label=_("Sensitive"),
        required=False,
        help_text=_("Hidden from every role but admin roles, unless a role's field rules show it."),
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For choice fields: one choice per line."),
    )
    default = forms.CharField(label=_("Default value"), required=False, max_length=500)
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=300)
    min = forms.CharField(label=_("Minimum"), required=False, help_text=_("Numbers and dates."))
    max = forms.CharField(label=_("Maximum"), required=False, help_text=_("Numbers and dates."))
    min_length = forms.IntegerField(label=_("Minimum length"), required=False, min_value=0)
    max_length = forms.IntegerField(label=_("Maximum length"), required=False, min_value=1)
    pattern = forms.CharField(
        label=_("Pattern"),
        required=False,
        max_length=200,
        help_text=_("A regular expression the whole value must match."),
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(
        self, *args: Any, definition: CustomFieldDefinition | None = None, **kwargs: Any
    ) -> None:
        if definition is not None:
            kwargs.setdefault("initial", self.initial_for(definition))
        super().__init__(*args, **kwargs)
        self.fields["content_type"].choices = record_type_choices()
        if definition is not None:
            for name in ("content_type", "key", "field_type"):
                self.fields[name].disabled = True

    @staticmethod
    def initial_for(definition: CustomFieldDefinition) -> dict[str, Any]:
        rules = definition.validation or {}
        return {
            "content_type": definition.content_type_id,
            "label": definition.label,
            "key": definition.key,
            "field_type": definition.field_type,
            "required": definition.required,
            "sensitive": definition.sensitive,
            "choices": "\n".join(definition.choices),
            "default": "" if definition.default is None else definition.default,
            "help_text": definition.help_text,
            "position": definition.position,
            "active": definition.active,
            **{name: rules.get(name) for name in (*NUMBER_RULES, *TEXT_RULES)},
        }

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as keyword arguments of the custom field services."""
        data = self.cleaned_data
        validation = {
            name: data[name]
            for name in (*NUMBER_RULES, *TEXT_RULES)
            if data.get(name) not in (None, "")
        }
        return {
            "label": data["label"],
            "key": data["key"],
            "field_type": data["field_type"],
            "required": data["required"],
            "sensitive": data["sensitive"],
            "choices": [line.strip() for line in data["choices"].splitlines() if line.strip()],
            "default": data["default"] or None,
            "help_text": data["help_text"],
            "validation": validation,
            "position": data["position"],
            "active": data["active"],
        }


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Record id"), required=False, max_length=64)
    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=User.objects.order_by("email"), required=False
    )
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("Any")), *AuditAction.choices], required=False
    )
    source = forms.ChoiceField(
        label=_("Through"), choices=[("", _("Any")), *Source.choices], required=False
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        audited = ContentType.objects.filter(
            app_label__in=[model._meta.app_label for model in record_models()]
            + ["accounts", "core"]
        ).order_by("app_label", "model")
        self.fields["object_type"].choices = [("", _("Any"))] + [
            (f"{content_type.app_label}.{content_type.model}", capfirst(content_type.name))
            for content_type in audited
        ]

    def filters(self) -> dict[str, Any]:
        """The filters as plain values, shared by the page and the CSV export job."""
        data = self.cleaned_data
        return {
            "object_type": data.get("object_type") or "",
            "object_id": data.get("object_id") or "",
            "actor": data["actor"].pk if data.get("actor") else None,
            "action": data.get("action") or "",
            "source": data.get("source") or "",
            "since": data["since"].isoformat() if data.get("since") else "",
            "until": data["until"].isoformat() if data.get("until") else "",
        }
