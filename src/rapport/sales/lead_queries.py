"""The read side of leads: the leads a user may see, and the lead list's query contract
(``LeadFilterSet``) shared by the list page and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from rapport.contacts.filtersets import RecordFilterSet, sort_orders
from rapport.contacts.queries import as_query_dict
from rapport.core.permissions import scope
from rapport.sales.models import Lead, LeadSource, LeadStatus, WebFormSubmission

if TYPE_CHECKING:
    from rapport.accounts.models import User


def visible_leads(user: User | None) -> models.QuerySet[Lead]:
    return scope(Lead.objects.all(), user)


class LeadFilterSet(RecordFilterSet):
    """The lead list's filters: those of every record list (``q``, ``owner``, ``team``,
    ``created``, custom fields…) and ``status``, ``source``, ``country``, ``score_min``,
    ``score_max``; sorts by creation (newest first by default), score, name, company."""

    status = django_filters.MultipleChoiceFilter(
        choices=LeadStatus.choices, label=gettext_lazy("Status")
    )
    source = django_filters.MultipleChoiceFilter(
        choices=LeadSource.choices, label=gettext_lazy("Source")
    )
    country = django_filters.CharFilter(
        method="filter_country", label=gettext_lazy("Country"), max_length=2
    )
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label=gettext_lazy("Score at least")
    )
    score_max = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", label=gettext_lazy("Score at most")
    )

    sorts = sort_orders(
        {
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
            "score": ["score", "id"],
            "name": ["last_name", "first_name", "id"],
            "company_name": ["company_name", "id"],
        }
    )
    default_sort = "-created_at"

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Leads have no tags.
        self.filters.pop("tag", None)

    def filter_country(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(country=value.strip().upper())


class InvalidLeadFilters(ValidationError):
    """Filter values that do not validate, keyed by parameter."""


def lead_list(user: User, params: QueryDict | Mapping[str, Any]) -> tuple[LeadFilterSet, list[str]]:
    """The leads ``user`` may see that match ``params``, and the keyset ordering of the
    requested sort; ``InvalidLeadFilters`` for bad values."""
    filterset = LeadFilterSet(
        as_query_dict(params), visible_leads(user).select_related("owner", "team"), user=user
    )
    errors = filterset.sort_errors()
    if not filterset.is_valid():
        errors |= {name: list(messages) for name, messages in filterset.form.errors.items()}
    if errors:
        raise InvalidLeadFilters(errors)
    return filterset, filterset.ordering


def submissions_of(lead: Lead) -> models.QuerySet[WebFormSubmission]:
    return lead.submissions.select_related("form").order_by("-created_at", "-id")
