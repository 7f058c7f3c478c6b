"""The read side of contacts: scoped querysets and the filtered, sorted lists that the
pages, the API and exports share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.http import QueryDict

from rapport.accounts.models import User
from rapport.contacts.filtersets import CompanyFilterSet, ContactFilterSet, RecordFilterSet
from rapport.contacts.models import Company, Contact, StaticList
from rapport.core.permissions import scope


class InvalidFilters(ValidationError):
    """Filter values that do not validate, keyed by parameter; ``filterset`` holds the bound
    form so a page can show the errors next to the filters."""

    def __init__(self, errors: dict[str, list[str]], filterset: RecordFilterSet) -> None:
        super().__init__(errors)
        self.filterset = filterset


def visible_companies(user: User | None) -> models.QuerySet[Company]:
    return scope(Company.objects.all(), user)


def visible_contacts(user: User | None) -> models.QuerySet[Contact]:
    return scope(Contact.objects.all(), user)


def visible_lists(user: User | None) -> models.QuerySet[StaticList]:
    return scope(StaticList.objects.all(), user)


def as_query_dict(params: QueryDict | Mapping[str, Any]) -> QueryDict:
    """``params`` as a QueryDict; in a plain dict (a saved view's filters) a list holds
    the several values of one parameter."""
    if isinstance(params, QueryDict):
        return params
    query = QueryDict(mutable=True)
    for name, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        query.setlist(name, [str(item) for item in values if item is not None])
    return query


def filtered_records(
    filterset_class: type[RecordFilterSet],
    queryset: models.QuerySet,
    user: User,
    params: QueryDict | Mapping[str, Any],
    search_cap: int | None,
) -> tuple[RecordFilterSet, list[str]]:
    """The records of ``queryset`` that match ``params`` by ``filterset_class``, and the
    keyset ordering of the requested sort; ``InvalidFilters`` for bad values."""
    filterset = filterset_class(as_query_dict(params), queryset, user=user, search_cap=search_cap)
    errors = filterset.sort_errors()
    if not filterset.is_valid():
        errors |= {name: list(messages) for name, messages in filterset.form.errors.items()}
    if errors:
        raise InvalidFilters(errors, filterset)
    return filterset, filterset.ordering


def contact_list(
    user: User, params: QueryDict | Mapping[str, Any], *, search_cap: int | None = None
) -> tuple[ContactFilterSet, list[str]]:
    """The contacts ``user`` may see that match ``params``: the filterset (its ``qs``) and
    the keyset ordering of the requested sort. Bad values raise ``InvalidFilters``. With
    ``search_cap``, the quick search looks only at that many of its first matches."""
    return filtered_records(ContactFilterSet, visible_contacts(user), user, params, search_cap)


def company_list(
    user: User, params: QueryDict | Mapping[str, Any], *, search_cap: int | None = None
) -> tuple[CompanyFilterSet, list[str]]:
    """The companies ``user`` may see that match ``params``, as ``contact_list``."""
    return filtered_records(CompanyFilterSet, visible_companies(user), user, params, search_cap)
