"""The sidebar: the modules that exist, each shown to the users who may open it.

Domains add their entries to ``SECTIONS`` in their ``AppConfig.ready``
through ``add_item``; an entry whose URL does not resolve is a bug, not
something to hide, so ``reverse`` errors are left to surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

Visible = Callable[[HttpRequest], bool]


def signed_in(request: HttpRequest) -> bool:
    return request.user.is_authenticated


def admins(request: HttpRequest) -> bool:
    return request.user.is_authenticated and request.user.is_admin


@dataclass
class Item:
    label: str | Promise
    url_name: str
    visible: Visible = signed_in


@dataclass
class Section:
    key: str
    title: str | Promise
    items: list[Item] = field(default_factory=list)


SECTIONS: list[Section] = [
    Section("main", _("Workspace"), [Item(pgettext_lazy("home page", "Home"), "web:home")]),
    Section(
        "work", _("My work"), [Item(_("Jobs"), "core:job_list"), Item(_("Trash"), "core:trash")]
    ),
    Section(
        "settings",
        _("Settings"),
        [
            Item(_("Users"), "accounts:user_list", admins),
            Item(_("Teams"), "accounts:team_list", admins),
            Item(_("Roles"), "accounts:role_list", admins),
            Item(_("Custom fields"), "core:customfield_list", admins),
            Item(_("Audit log"), "core:audit", admins),
        ],
    ),
    Section("developers", _("Developers"), [Item(_("API documentation"), "api:openapi-view")]),
]


def add_item(section_key: str, item: Item, *, position: int | None = None) -> None:
    section = next(section for section in SECTIONS if section.key == section_key)
    if all(existing.url_name != item.url_name for existing in section.items):
        section.items.insert(len(section.items) if position is None else position, item)


def build(request: HttpRequest) -> list[dict]:
    path = request.path
    sections = []
    for section in SECTIONS:
        items = []
        for item in section.items:
            if not item.visible(request):
                continue
            url = reverse(item.url_name)
            current = path == url if url == "/" else path.startswith(url)
            items.append({"label": item.label, "url": url, "current": current})
        if items:
            sections.append({"title": section.title, "items": items})
    return sections
