"""Global search: one query box, results grouped by object type.

Each domain registers a provider: a function taking the user and the query
and returning that user's visible matches. Contacts and companies will move
this onto the full-text index of ``core.search``; what exists now (people
and teams) is small enough to match by prefix and substring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import Team, User

RESULTS_PER_TYPE = 10
MIN_QUERY_LENGTH = 2


@dataclass(frozen=True)
class Hit:
    title: str
    subtitle: str
    url: str


@dataclass(frozen=True)
class Provider:
    key: str
    label: str | Promise
    find: Callable[[User, str], list[Hit]]


def find_people(user: User, query: str) -> list[Hit]:
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
        for person in people.order_by("first_name", "last_name", "id")[:RESULTS_PER_TYPE]
    ]


def find_teams(user: User, query: str) -> list[Hit]:
    teams = Team.objects.filter(name__icontains=query).order_by("name")[:RESULTS_PER_TYPE]
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


def search(user: User, query: str) -> list[tuple[Provider, list[Hit]]]:
    query = query.strip()
    if len(query) < MIN_QUERY_LENGTH:
        return []
    groups = []
    for provider in PROVIDERS:
        hits = provider.find(user, query)
        if hits:
            groups.append((provider, hits))
    return groups
