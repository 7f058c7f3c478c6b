"""Merge fields: only the listed values of contact, company and sender may be used, with
at most a ``default``; nothing else of the records can be reached, and plain text is
rendered as written (no HTML escaping)."""

from __future__ import annotations

import pytest

from rapport.mail.merge import merge_errors, merge_values, render

VALUES = {
    "contact": {"first_name": "Zoë <b>&", "last_name": "", "email": "zoe@example.com"},
    "company": {"name": "Acme"},
    "sender": {"full_name": "Alice Liddell"},
}


@pytest.mark.parametrize(
    "text",
    [
        "No merge field at all, { braces } are fine.",
        "Hi {{ contact.first_name }} of {{ company.name }}, {{ sender.full_name }}",
        'Hi {{ contact.last_name|default:"there" }}',
        "{{ contact.first_name|default:sender.first_name }}",
        "{# a comment #}{{ contact.email }}",
    ],
)
def test_merge_fields_and_a_default_are_accepted(text):
    assert merge_errors(text) == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{{ contact.owner.password }}", "contact.owner.password"),
        ("{{ contact.owner }}", "contact.owner"),
        ("{{ contact.items }}", "contact.items"),
        ("{{ contact }}", "contact"),
        ("{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
        ("{{ company.name|default:contact.secret }}", "contact.secret"),
    ],
)
def test_unknown_merge_fields_are_named(text, named):
    [error] = merge_errors(text)
    assert error.startswith(f"Unknown merge fields: {named}.")
    assert "contact.first_name" in error  # the ones that exist are listed


@pytest.mark.parametrize(
    "text",
    ["{{ contact.__class__ }}", "{{ contact._meta }}", "{{ }}", "{{ contact.first_name|default }}"],
)
def test_private_attributes_and_malformed_fields_are_refused(text):
    assert merge_errors(text)


def test_tags_and_other_filters_are_refused_and_named():
    errors = merge_errors(
        "{% load static %}{% if contact.first_name %}{{ contact.first_name|upper|safe }}{% endif %}"
    )

    assert any("tags: {% load %}, {% if %}" in error for error in errors)
    assert any("Unknown filters: upper, safe." in error for error in errors)


def test_rendering_fills_values_as_plain_text_and_falls_back():
    text = 'Hi {{ contact.first_name }} {{ contact.last_name|default:"X" }} ({{ company.name }})'

    assert render(text, VALUES) == "Hi Zoë <b>& X (Acme)"


def test_a_missing_value_renders_empty():
    assert render("[{{ company.domain }}]", VALUES) == "[]"


def test_merge_values_are_plain_strings_never_records(ann, alice):
    values = merge_values(contact=ann, sender=alice, to="ann.archer@home.test")

    assert values["contact"]["full_name"] == "Ann Archer"
    assert values["contact"]["email"] == "ann.archer@home.test"
    assert values["company"]["name"] == "Acme"
    assert values["sender"]["email"] == "alice@example.com"
    assert all(isinstance(value, str) for fields in values.values() for value in fields.values())
