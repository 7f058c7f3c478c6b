"""Which models are CRM records: the object types the trash, history, custom
fields and role matrix offer. Every concrete subclass of ``core.models.Record``
in an installed app is one, so a new domain appears without registration."""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

from rapport.core.models import Record


def record_models() -> list[type[Record]]:
    found = [
        model for model in apps.get_models() if issubclass(model, Record) and not model._meta.proxy
    ]
    return sorted(found, key=lambda model: str(model._meta.verbose_name_plural))


def record_model(label: str) -> type[Record]:
    """The record model named ``app_label.model_name``; 404 for anything else."""
    for model in record_models():
        if model._meta.label_lower == label:
            return model
    raise Http404


def any_model(label: str) -> type[models.Model]:
    """Any installed model by ``app_label.model_name``; 404 for an unknown label."""
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None


def primary_key(model: type[models.Model], raw: str) -> object:
    """``raw`` as a primary key value of ``model``; 404 for text that cannot be one."""
    try:
        return model._meta.pk.to_python(raw)
    except ValidationError:
        raise Http404 from None
