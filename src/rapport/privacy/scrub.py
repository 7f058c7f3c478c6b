"""Finding and replacing one person's identifiers in text and JSON values.

A ``Scrubber`` holds the patterns of a person: their email addresses and phone
numbers (in E.164 and as people write them) match anywhere, case aside; everything matches
as whole words only, so "Ann" does not eat "Annual". ``sweep_database`` runs one
over every text, char and JSON column of every installed model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast

ERASED = "[erased]"
TEXT_FIELDS = (models.CharField, models.TextField)
# Names shorter than this are too common as words to hunt for across the database.
MIN_NAME_CHARS = 2
# SQLite refuses expressions nested deeper than 1000; a chain of ORs nests one a term.
MAX_TERMS_PER_QUERY = 400


def phone_forms(e164: str) -> set[str]:
    """The ways a number is likely written: E.164, international, national, digits."""
    forms = {e164}
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    for style in (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    ):
        written = phonenumbers.format_number(number, style)
        forms |= {written, re.sub(r"[^\d+]", "", written)}
    forms.add(e164.lstrip("+"))
    return {form for form in forms if len(re.sub(r"\D", "", form)) >= 6}


class Scrubber:
    """Replaces a person's identifiers with ``[erased]``."""

    def __init__(self, *, literals: Iterable[str], names: Iterable[str]) -> None:
        self.literals = sorted({text for text in literals if text}, key=len, reverse=True)
        self.names = sorted(
            {name for name in names if len(name) >= MIN_NAME_CHARS}, key=len, reverse=True
        )
        # Whole words only: a name inside a longer word, or digits inside a password
        # hash, are someone else's.
        parts = [rf"(?<!\w){re.escape(text)}(?!\w)" for text in [*self.literals, *self.names]]
        self.pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    @property
    def needles(self) -> list[str]:
        """What a database row must contain (case aside) to be worth a look."""
        return [*self.literals, *self.names]

    def text(self, value: str) -> str:
        if self.pattern is None or not value:
            return value
        return self.pattern.sub(ERASED, value)

    def value(self, value: Any) -> Any:
        """``value`` (text, or JSON made of dicts and lists) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value


def erase_strings(value: Any) -> Any:
    """``value`` with every string in it replaced by ``[erased]``: for the recorded
    values of a record that was the person."""
    if isinstance(value, str):
        return ERASED if value else value
    if isinstance(value, list):
        return [erase_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: erase_strings(item) for key, item in value.items()}
    return value


def scrub_queryset(queryset: models.QuerySet, fields: Iterable[str], scrubber: Scrubber) -> int:
    """Scrub ``fields`` of the rows of ``queryset``; how many rows changed."""
    fields = list(fields)
    changed = 0
    for row in queryset.values("pk", *fields).iterator(chunk_size=500):
        values = {name: scrubber.value(row[name]) for name in fields}
        values = {name: value for name, value in values.items() if value != row[name]}
        if values:
            queryset.model._base_manager.filter(pk=row["pk"]).update(**values)
            changed += 1
    return changed


def _text_fields(model: type[models.Model]) -> tuple[list[str], list[str]]:
    text, json_fields = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or getattr(field, "choices", None):
            continue
        if isinstance(field, models.JSONField):
            json_fields.append(field.attname)
        elif isinstance(field, TEXT_FIELDS):
            text.append(field.attname)
    return text, json_fields


def _json_needle(needle: str) -> str:
    """``needle`` as a JSON column stores it (SQLite keeps non-ASCII escaped)."""
    return json.dumps(needle)[1:-1]


def sweep_database(scrubber: Scrubber, *, skip: Iterable[type[models.Model]] = ()) -> int:
    """Scrub every text, char and JSON column of every installed model; rows changed.
    One query per table finds the candidate rows; the replacing happens here, so names
    only match as whole words."""
    if not scrubber.needles:
        return 0
    # User accounts are colleagues, managed in user administration: an erased contact
    # who was also a user must not lose the login they may still need.
    skipped = {*skip, get_user_model()}
    changed = 0
    for model in apps.get_models(include_auto_created=True):
        if model in skipped or model._meta.proxy or not model._meta.managed:
            continue
        text, json_fields = _text_fields(model)
        if not text and not json_fields:
            continue
        annotations = {f"_privacy_{name}": Cast(name, models.TextField()) for name in json_fields}
        per_needle = len(text) + 2 * len(json_fields)
        step = max(1, MAX_TERMS_PER_QUERY // per_needle)
        needles = scrubber.needles
        for start in range(0, len(needles), step):
            condition = Q()
            for needle in needles[start : start + step]:
                for name in text:
                    condition |= Q(**{f"{name}__icontains": needle})
                for name in json_fields:
                    condition |= Q(**{f"_privacy_{name}__icontains": needle})
                    condition |= Q(**{f"_privacy_{name}__icontains": _json_needle(needle)})
            candidates = model._base_manager.annotate(**annotations).filter(condition)
            changed += scrub_queryset(candidates, [*text, *json_fields], scrubber)
    return changed
