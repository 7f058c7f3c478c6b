"""One place validates custom field values, whatever the type and the door they came through."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.core.customfields import (
    clean_value,
    customfield_create,
    customfield_update,
    validate_custom,
)
from rapport.core.models import CustomFieldDefinition
from rapport.testing.models import Specimen


def definition(field_type: str, **extra) -> CustomFieldDefinition:
    return CustomFieldDefinition(key="f", label="F", field_type=field_type, **extra)


@pytest.mark.parametrize(
    ("field_type", "raw", "stored"),
    [
        ("text", "  hello ", "hello"),
        ("integer", "42", 42),
        ("integer", 7.0, 7),
        ("decimal", "3.10", "3.10"),
        ("boolean", "yes", True),
        ("boolean", False, False),
        ("date", "2026-11-27", "2026-11-27"),
        ("datetime", "2026-11-27T10:30:00+00:00", "2026-11-27T10:30:00+00:00"),
        ("email", "Ann@Example.COM", "ann@example.com"),
        ("url", "https://example.com/a", "https://example.com/a"),
        ("text", "", None),
    ],
)
def test_values_are_normalised(field_type, raw, stored):
    assert clean_value(raw, definition(field_type)) == stored


@pytest.mark.parametrize(
    ("field_type", "raw", "extra"),
    [
        ("integer", "4.5", {}),
        ("integer", True, {}),
        ("decimal", "NaN", {}),
        ("boolean", "maybe", {}),
        ("date", "27/11/2026", {}),
        ("date", "2026-02-30", {}),
        ("email", "not-an-email", {}),
        ("url", "javascript:alert(1)", {}),
        ("choice", "bronze", {"choices": ["gold"]}),
        ("multi_choice", ["gold", "tin"], {"choices": ["gold"]}),
        ("integer", "11", {"validation": {"max": 10}}),
        ("text", "ab", {"validation": {"min_length": 3}}),
        ("text", "AB-1", {"validation": {"pattern": "[0-9]+"}}),
    ],
)
def test_bad_values_are_refused(field_type, raw, extra):
    with pytest.raises(ValidationError):
        clean_value(raw, definition(field_type, **extra))


def test_multi_choice_keeps_the_defined_order():
    assert clean_value(["b", "a"], definition("multi_choice", choices=["a", "b", "c"])) == [
        "a",
        "b",
    ]


@pytest.fixture
def specimen_type(db) -> ContentType:
    return ContentType.objects.get_for_model(Specimen)


def test_partial_update_keeps_other_values(as_admin, specimen_type):
    for key in ("size", "colour"):
        customfield_create(
            actor=as_admin, content_type=specimen_type, key=key, label=key, field_type="text"
        )

    assert validate_custom(Specimen, {"size": "L"}, existing={"colour": "red"}) == {
        "size": "L",
        "colour": "red",
    }


def test_inactive_definitions_are_not_accepted(as_admin, specimen_type):
    field = customfield_create(
        actor=as_admin, content_type=specimen_type, key="size", label="Size", field_type="text"
    )
    customfield_update(field, actor=as_admin, active=False)

    with pytest.raises(ValidationError):
        validate_custom(Specimen, {"size": "L"})


def test_definitions_are_checked(as_admin, specimen_type):
    with pytest.raises(ValidationError) as error:
        customfield_create(
            actor=as_admin,
            content_type=specimen_type,
            key="Bad Key",
            label="",
            field_type="choice",
            choices=[],
        )
    assert {"key", "label", "choices"} <= set(error.value.message_dict)

    with pytest.raises(ValidationError) as error:
        customfield_create(
            actor=as_admin,
            content_type=specimen_type,
            key="n",
            label="N",
            field_type="integer",
            default="x",
        )
    assert "default" in error.value.message_dict


def test_key_and_type_cannot_change(as_admin, specimen_type):
    field = customfield_create(
        actor=as_admin, content_type=specimen_type, key="size", label="Size", field_type="text"
    )

    with pytest.raises(ValidationError):
        customfield_update(field, actor=as_admin, field_type="integer")


def test_only_admins_define_fields(as_alice, specimen_type):
    with pytest.raises(PermissionDenied):
        customfield_create(
            actor=as_alice, content_type=specimen_type, key="x", label="X", field_type="text"
        )
