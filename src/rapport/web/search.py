"""Global search: one query box, results grouped by object type.

Records (contacts, companies, and every type that registers later) come from
the full-text index of ``core.search``, scoped to what the user may see.
People and teams are few enough to match by substring here; a domain with
something similar adds a ``Provider``. Record groups come first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User
from rapport.core import search as record_search
from rapport.core.search import Group, Hit

RESULTS_PER_TYPE = 10
MIN_QUERY_LENGTH = 2


@dataclass(frozen=True)
class Provider:
    key: str
    label: str | Promise
    find: Callable[[User, str, int], list[Hit]]


def find_people(user: User, query: str, limit: int) -> list[Hit]:
    people = User.objects.filter(is_active=True).filter(
        Q(first_name__icontains=query) | Q(last_name__icontains=query) | Q(email__icontains=query)
    )
    link = user.is_admin
    return [
        Hit(
            title=str(person),
            subtitle=person.email,
            url=reverse("accounts:user_edit", args=[person.pk]) if link else "",
        )
        for person in people.order_by("first_name", "last_name", "id")[:limit]
    ]


def find_teams(user: User, query: str, limit: int) -> list[Hit]:
    teams = Team.objects.filter(name__icontains=query).order_by("name")[:limit]
    link = user.is_admin
    return [
        Hit(
            title=team.name,
            subtitle=team.description,
            url=reverse("accounts:team_edit", args=[team.pk]) if link else "",
        )
        for team in teams
    ]


PROVIDERS: list[Provider] = [
    Provider("people", _("People"), find_people),
    Provider("teams", _("Teams"), find_teams),
]


def register(provider: Provider) -> None:
    if all(existing.key != provider.key for existing in PROVIDERS):
        PROVIDERS.append(provider)


def search(user: User, query: str, *, limit_per_type: int = RESULTS_PER_TYPE) -> list[Group]:
    query = query.strip()
    if len(query) < MIN_QUERY_LENGTH:
        return []
    groups = record_search.search(user, query, limit_per_type=limit_per_type)
    for provider in PROVIDERS:
        hits = provider.find(user, query, limit_per_type)
        if hits:
            groups.append(Group(key=provider.key, label=provider.label, hits=hits))
    return groups
