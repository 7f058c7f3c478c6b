"""Admin-defined fields for any record type, stored in the record's ``custom`` JSON.

``validate_custom`` is the one place values are checked and normalised, so a
page, the API, an import and an automation all accept and refuse the same
values. Values are stored JSON-native: numbers as numbers (decimals as
strings, to keep their precision), dates as ISO strings, multiple choices as
lists.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import decimal
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models, transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.models import AuditAction, CustomFieldDefinition, FieldType
from rapport.core.permissions import require_admin

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
EMPTY = (None, "", [])
CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTI_CHOICE)


_held: contextvars.ContextVar[dict[type, list[CustomFieldDefinition]] | None] = (
    contextvars.ContextVar("held_definitions", default=None)
)


def definitions_for(model: type[models.Model]) -> list[CustomFieldDefinition]:
    """The active definitions of ``model``, in display order."""
    held = _held.get()
    if held is not None and model in held:
        return held[model]
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    definitions = list(CustomFieldDefinition.objects.filter(content_type=content_type, active=True))
    if held is not None:
        held[model] = definitions
    return definitions


@contextlib.contextmanager
def definitions_held() -> Iterator[None]:
    """Read each model's definitions once inside the block, not once per record: for a
    batch of writes (an import's), during which an admin's change may wait."""
    token = _held.set({})
    try:
        yield
    finally:
        _held.reset(token)


def _text(value: Any, definition: CustomFieldDefinition) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValidationError(_("Enter text."))
    return str(value).strip()


def _integer(value: Any, definition: CustomFieldDefinition) -> int:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a whole number."))
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter a whole number.")) from None
    if number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number."))
    return int(number)


def _decimal(value: Any, definition: CustomFieldDefinition) -> str:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number."))
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter a number.")) from None
    if not number.is_finite():
        raise ValidationError(_("Enter a number."))
    return str(number)


def _boolean(value: Any, definition: CustomFieldDefinition) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "1", "on"):
        return True
    if word in ("false", "no", "0", "off"):
        return False
    raise ValidationError(_("Enter yes or no."))


def _date(value: Any, definition: CustomFieldDefinition) -> str:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    try:
        parsed = parse_date(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(_("Enter a date as YYYY-MM-DD."))
    return parsed.isoformat()


def _datetime(value: Any, definition: CustomFieldDefinition) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(_("Enter a date and time as YYYY-MM-DDTHH:MM."))
    return parsed.isoformat()


def _choice(value: Any, definition: CustomFieldDefinition) -> str:
    text = str(value).strip()
    if text not in definition.choices:
        raise ValidationError(
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(definition.choices)}
        )
    return text


def _multi_choice(value: Any, definition: CustomFieldDefinition) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    chosen = [_choice(item, definition) for item in items]
    return [choice for choice in definition.choices if choice in chosen]


def _email(value: Any, definition: CustomFieldDefinition) -> str:
    text = str(value).strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError(_("Enter a valid email address.")) from None
    return text


def _url(value: Any, definition: CustomFieldDefinition) -> str:
    text = str(value).strip()
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise ValidationError(
            _("Enter a valid web address starting with http:// or https://.")
        ) from None
    return text


COERCERS: dict[str, Callable[[Any, CustomFieldDefinition], Any]] = {
    FieldType.TEXT: _text,
    FieldType.LONG_TEXT: _text,
    FieldType.INTEGER: _integer,
    FieldType.DECIMAL: _decimal,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.CHOICE: _choice,
    FieldType.MULTI_CHOICE: _multi_choice,
    FieldType.EMAIL: _email,
    FieldType.URL: _url,
}


def _check_rules(value: Any, definition: CustomFieldDefinition) -> None:
    rules = definition.validation or {}
    if definition.field_type in (FieldType.INTEGER, FieldType.DECIMAL):
        number = decimal.Decimal(str(value))
        if "min" in rules and number < decimal.Decimal(str(rules["min"])):
            raise ValidationError(_("Enter %(min)s or more.") % {"min": rules["min"]})
        if "max" in rules and number > decimal.Decimal(str(rules["max"])):
            raise ValidationError(_("Enter %(max)s or less.") % {"max": rules["max"]})
    if definition.field_type in (FieldType.DATE, FieldType.DATETIME):
        if "min" in rules and value < rules["min"]:
            raise ValidationError(_("Enter %(min)s or later.") % {"min": rules["min"]})
        if "max" in rules and value > rules["max"]:
            raise ValidationError(_("Enter %(max)s or earlier.") % {"max": rules["max"]})
    if isinstance(value, str) and definition.field_type not in CHOICE_TYPES:
        if "min_length" in rules and len(value) < int(rules["min_length"]):
            raise ValidationError(_("Use at least %(n)s characters.") % {"n": rules["min_length"]})
        if "max_length" in rules and len(value) > int(rules["max_length"]):
            raise ValidationError(_("Use at most %(n)s characters.") % {"n": rules["max_length"]})
        if rules.get("pattern") and not re.fullmatch(rules["pattern"], value):
            raise ValidationError(
                rules.get("pattern_message") or _("Enter a value in the expected format.")
            )


def clean_value(value: Any, definition: CustomFieldDefinition) -> Any:
    """``value`` normalised for ``definition``, or ``None`` when empty."""
    if isinstance(value, str):
        value = value.strip()
    if value in EMPTY:
        return None
    cleaned = COERCERS[definition.field_type](value, definition)
    if cleaned in EMPTY:
        return None
    _check_rules(cleaned, definition)
    return cleaned


def validate_custom(
    model: type[models.Model],
    values: Mapping[str, Any],
    *,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``custom`` dict to store after applying ``values`` over ``existing``.

    New records (``existing is None``) get each field's default. Raises
    ``ValidationError`` keyed ``custom.<key>`` for bad or missing values and
    for keys no active definition declares.
    """
    definitions = {definition.key: definition for definition in definitions_for(model)}
    errors: dict[str, list[str]] = {
        f"custom.{key}": [_("There is no custom field %(key)s.") % {"key": key}]
        for key in values
        if key not in definitions
    }
    result = dict(existing or {})
    for key, definition in definitions.items():
        if key in values:
            raw = values[key]
        elif existing is None:
            raw = definition.default
        else:
            raw = result.get(key)
        try:
            cleaned = clean_value(raw, definition)
        except ValidationError as error:
            errors[f"custom.{key}"] = error.messages
            continue
        if cleaned is None and definition.required:
            errors[f"custom.{key}"] = [_("%(label)s is required.") % {"label": definition.label}]
            continue
        if cleaned is None:
            result.pop(key, None)
        else:
            result[key] = cleaned
    if errors:
        raise ValidationError(errors)
    return result


def _form_field(definition: CustomFieldDefinition) -> forms.Field:
    common = {
        "label": definition.label,
        "required": definition.required,
        "help_text": definition.help_text,
    }
    field_type = definition.field_type
    choices = [(choice, choice) for choice in definition.choices]
    if field_type == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if field_type == FieldType.INTEGER:
        return forms.IntegerField(**common)
    if field_type == FieldType.DECIMAL:
        return forms.DecimalField(**common)
    if field_type == FieldType.BOOLEAN:
        return forms.BooleanField(**common | {"required": False})
    if field_type == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field_type == FieldType.DATETIME:
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if field_type == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if field_type == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if field_type == FieldType.EMAIL:
        return forms.EmailField(**common)
    if field_type == FieldType.URL:
        return forms.URLField(assume_scheme="https", **common)
    return forms.CharField(**common)


def form_fields(model: type[models.Model]) -> dict[str, forms.Field]:
    """Form fields named ``custom_<key>`` for the active definitions of ``model``.

    Forms hand the values to ``validate_custom`` (through the record services)
    rather than trusting these fields' own cleaning alone."""
    return {
        f"custom_{definition.key}": _form_field(definition) for definition in definitions_for(model)
    }


def form_values(cleaned_data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``custom`` values out of a form's ``cleaned_data``."""
    return {
        name.removeprefix("custom_"): value
        for name, value in cleaned_data.items()
        if name.startswith("custom_")
    }


def _clean_definition(
    values: dict[str, Any], *, instance: CustomFieldDefinition | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    key = values.get("key", instance.key if instance else "")
    if not KEY_PATTERN.match(key or ""):
        errors["key"] = [_("Use lower case letters, digits and _, starting with a letter.")]
    content_type = values.get("content_type", instance.content_type if instance else None)
    taken = CustomFieldDefinition.objects.filter(content_type=content_type, key=key)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if "key" not in errors and taken.exists():
        errors["key"] = [_("This object type already has a field with this key.")]
    if not (values.get("label") or (instance and instance.label)):
        errors["label"] = [_("Give the field a label.")]
    field_type = values.get("field_type", instance.field_type if instance else None)
    if field_type not in FieldType.values:
        errors["field_type"] = [_("Choose a field type.")]
    choices = [
        str(choice).strip()
        for choice in values.get("choices", instance.choices if instance else [])
        if str(choice).strip()
    ]
    values["choices"] = list(dict.fromkeys(choices))
    if field_type in CHOICE_TYPES and not values["choices"]:
        errors["choices"] = [_("List at least one choice.")]
    if values.get("validation", {}).get("pattern"):
        try:
            re.compile(values["validation"]["pattern"])
        except re.error:
            errors["validation"] = [_("The pattern is not a valid regular expression.")]
    if not errors and values.get("default") not in EMPTY:
        probe = CustomFieldDefinition(
            field_type=field_type,
            choices=values["choices"],
            validation=values.get("validation", instance.validation if instance else {}),
            label=values.get("label", ""),
        )
        try:
            values["default"] = clean_value(values["default"], probe)
        except ValidationError as error:
            errors["default"] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def customfield_create(
    *, actor: Actor, content_type: ContentType, **values: Any
) -> CustomFieldDefinition:
    """Define a new field for records of ``content_type`` (admins only)."""
    require_admin(actor.user)
    values = _clean_definition({"content_type": content_type, **values}, instance=None)
    with transaction.atomic():
        definition = CustomFieldDefinition.objects.create(**values)
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            obj=definition,
            changes=diff({}, snapshot(definition)),
        )
    return definition


def customfield_update(
    definition: CustomFieldDefinition, *, actor: Actor, **changes: Any
) -> CustomFieldDefinition:
    """Change a definition. Its key and type stay: stored values depend on them."""
    require_admin(actor.user)
    frozen = {
        name
        for name in ("key", "field_type", "content_type")
        if name in changes and changes[name] != getattr(definition, name)
    }
    if frozen:
        raise ValidationError(
            {name: [_("This cannot change once the field exists.")] for name in frozen}
        )
    changes = _clean_definition(changes, instance=definition)
    with transaction.atomic():
        before = snapshot(definition)
        for name, value in changes.items():
            setattr(definition, name, value)
        definition.save()
        changed = diff(before, snapshot(definition))
        if changed:
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=definition, changes=changed)
    return definition


def customfield_delete(definition: CustomFieldDefinition, *, actor: Actor) -> None:
    """Remove a definition. Stored values stay in records' history but are no longer shown."""
    require_admin(actor.user)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=definition, changes={})
        definition.delete()
