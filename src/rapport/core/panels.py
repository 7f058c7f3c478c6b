"""Sections of a record's 360 page that other apps contribute.

The contact and company pages (and every later record page) render the
panels registered for their type, in ``order``: an app adds its timeline,
attachments or deals panel by calling ``register`` in its ``AppConfig.ready``,
without the record's own app knowing it. The page has already checked that
the reader may see the record; a panel reads only what the reader may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.functional import Promise

PanelContext = Callable[[HttpRequest, models.Model], dict[str, Any] | None]


def every_record(model: type[models.Model]) -> bool:
    return True


@dataclass(frozen=True)
class Panel:
    """``template`` is rendered with ``context(request, record)`` added to the page's
    context; a context of ``None`` leaves the panel out for this record."""

    key: str
    title: Promise | str
    template: str
    context: PanelContext
    applies_to: Callable[[type[models.Model]], bool] = every_record
    order: int = 100
    # Full width below the record's details (the timeline) rather than in the grid.
    wide: bool = False


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _PANELS[panel.key] = panel


def unregister(key: str) -> None:
    _PANELS.pop(key, None)


def panels_for(
    request: HttpRequest, record: models.Model, *, wide: bool | None = None
) -> list[dict[str, Any]]:
    """The panels of ``record``'s page (only the full-width or only the grid ones when
    ``wide`` says so), each as its panel, template and context."""
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.key)):
        if not panel.applies_to(type(record)) or wide not in (None, panel.wide):
            continue
        context = panel.context(request, record)
        if context is not None:
            shown.append({"panel": panel, "template": panel.template, "context": context})
    return shown
