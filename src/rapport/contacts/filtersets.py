"""The query contract of company and contact lists: one FilterSet each, shared by the
list pages, the API, exports and saved views, so a query string means the same
thing everywhere.

Besides the filters (form fields, so a page can show them), each FilterSet
knows its sort orders: ``sort=name`` or ``sort=-created_at`` picks one from an
allow-list, each a keyset ordering ending in ``id`` for ``core.pagination``.
Custom fields filter as ``custom__<key>``, the value read the way the field's
definition reads input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Team, User
from rapport.contacts.children import normalize_domain
from rapport.contacts.models import (
    Channel,
    Company,
    Contact,
    ContactSource,
    LifecycleStage,
    ListMembership,
    StaticList,
    Tag,
    ValueTier,
)
from rapport.core import search
from rapport.core.customfields import clean_value, definitions_for
from rapport.core.models import CustomFieldDefinition, FieldType
from rapport.core.permissions import scope

if TYPE_CHECKING:
    from django.http import QueryDict

SORT_PARAM = "sort"
CUSTOM_PREFIX = "custom__"
ID_PATTERN = re.compile(r"^[0-9]{1,18}$")
ME = "me"


# Fields and filters the stock ones lack


class IdsInput(forms.TextInput):
    """A text box for ids, read from repeated parameters or a comma-separated one."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if hasattr(data, "getlist"):
            return data.getlist(name)
        return data.get(name)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, (list, tuple)):
            return ",".join(str(item) for item in value)
        return super().format_value(value)


class IdListField(forms.Field):
    widget = IdsInput

    def to_python(self, value: Any) -> list[int]:
        items = value if isinstance(value, (list, tuple)) else [value]
        ids = []
        for item in items:
            for part in str(item if item is not None else "").split(","):
                part = part.strip()
                if not part:
                    continue
                if not ID_PATTERN.match(part):
                    raise ValidationError(_("Enter ids (whole numbers) separated by commas."))
                ids.append(int(part))
        return list(dict.fromkeys(ids))


class IdsFilter(django_filters.Filter):
    """``?company=3&company=7`` or ``?company=3,7``: any of these ids."""

    field_class = IdListField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)


class CustomValueField(forms.CharField):
    """Reads a filter value as the custom field's definition reads any input."""

    def __init__(self, *, definition: CustomFieldDefinition, **kwargs: Any) -> None:
        self.definition = definition
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        return clean_value(text, self.definition) if text else None


class CustomFieldFilter(django_filters.Filter):
    """``custom__<key>=<value>``: records whose custom field holds that value (for a
    multiple choice field: one of its values)."""

    field_class = CustomValueField

    def __init__(self, definition: CustomFieldDefinition) -> None:
        self.definition = definition
        super().__init__(
            field_name=f"custom__{definition.key}", label=definition.label, definition=definition
        )

    def filter(self, qs: models.QuerySet, value: Any) -> models.QuerySet:
        if value in (None, "", []):
            return qs
        if self.definition.field_type == FieldType.MULTI_CHOICE:
            # A list stored as JSON text holds each choice in quotes; choices are plain words.
            for choice in value:
                qs = qs.filter(**{f"{self.field_name}__icontains": f'"{choice}"'})
            return qs
        return qs.filter(**{self.field_name: value})


def _owner_choices() -> list[tuple[str, str]]:
    users = User.objects.order_by("first_name", "last_name", "email")
    return [(ME, _("Me")), *((str(user.pk), str(user)) for user in users)]


def _descending(ordering: Sequence[str]) -> list[str]:
    return [name[1:] if name.startswith("-") else f"-{name}" for name in ordering]


def sort_orders(ascending: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Each sort key, and its ``-`` twin, with its keyset ordering."""
    orders: dict[str, list[str]] = {}
    for key, ordering in ascending.items():
        orders[key] = list(ordering)
        orders[f"-{key}"] = _descending(ordering)
    return orders


# The shared base


class RecordFilterSet(django_filters.FilterSet):
    """Filters every record list has: quick search, ids, owner, team, tags, dates and
    custom fields; plus the sort allow-list and the reading user ("me")."""

    q = django_filters.CharFilter(
        method="filter_search", label=gettext_lazy("Search"), max_length=10_000
    )
    id = IdsFilter(label=gettext_lazy("Ids"))
    owner = django_filters.MultipleChoiceFilter(
        choices=_owner_choices, method="filter_owner", label=gettext_lazy("Owner")
    )
    team = django_filters.ModelMultipleChoiceFilter(
        queryset=Team.objects.all(), distinct=False, label=gettext_lazy("Team")
    )
    tag = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.all(), method="filter_tags", label=gettext_lazy("Tags")
    )
    created = django_filters.DateFromToRangeFilter(
        field_name="created_at", label=gettext_lazy("Created")
    )
    updated = django_filters.DateFromToRangeFilter(
        field_name="updated_at", label=gettext_lazy("Updated")
    )

    sorts: dict[str, list[str]] = {}
    default_sort = ""

    def __init__(
        self,
        data: QueryDict | Mapping[str, Any] | None = None,
        queryset: models.QuerySet | None = None,
        *,
        user: User,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset, **kwargs)
        self.user = user
        for definition in definitions_for(self._meta.model):
            self.filters[f"{CUSTOM_PREFIX}{definition.key}"] = CustomFieldFilter(definition)

    # Sorting

    @property
    def sort(self) -> str:
        return (self.data or {}).get(SORT_PARAM) or self.default_sort

    def sort_errors(self) -> dict[str, list[str]]:
        if self.sort in self.sorts:
            return {}
        keys = ", ".join(key for key in self.sorts if not key.startswith("-"))
        return {
            SORT_PARAM: [
                _("Sort by one of %(keys)s, with - in front for descending.") % {"keys": keys}
            ]
        }

    @property
    def ordering(self) -> list[str]:
        """The keyset ordering of the requested sort (the default one if it is unknown)."""
        return self.sorts.get(self.sort) or self.sorts[self.default_sort]

    # Filter methods

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return search.filter_queryset(queryset, value)

    def filter_owner(
        self, queryset: models.QuerySet, name: str, value: list[str]
    ) -> models.QuerySet:
        ids = [self.user.pk if choice == ME else int(choice) for choice in value]
        return queryset.filter(owner_id__in=ids)

    def filter_tags(
        self, queryset: models.QuerySet, name: str, value: list[Tag]
    ) -> models.QuerySet:
        if not value:  # an empty queryset: no tag chosen
            return queryset
        # A subquery rather than a join, so a record with two of the tags is listed once.
        through = queryset.model.tags.through
        column = f"{queryset.model._meta.model_name}_id"
        tagged = through.objects.filter(tag__in=value).values(column)
        return queryset.filter(pk__in=tagged)


def _contains_digits(queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
    """Phones are stored in E.164: match the digits typed, whatever the punctuation."""
    digits = "".join(char for char in value if char in "0123456789")
    if not digits:
        return queryset.none()
    return queryset.filter(**{f"{name}__contains": digits})


class CompanyFilterSet(RecordFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Name"))
    domain = django_filters.CharFilter(method="filter_domain", label=gettext_lazy("Domain"))
    industry = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Industry"))
    phone = django_filters.CharFilter(method=_contains_digits, label=gettext_lazy("Phone"))
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, distinct=False, label=gettext_lazy("Lifecycle stage")
    )
    value_tier = django_filters.MultipleChoiceFilter(
        choices=ValueTier.choices, distinct=False, label=gettext_lazy("Value tier")
    )
    currency = django_filters.CharFilter(method="filter_currency", label=gettext_lazy("Currency"))
    employee_count = django_filters.RangeFilter(label=gettext_lazy("Employees"))
    annual_revenue = django_filters.RangeFilter(label=gettext_lazy("Annual revenue"))
    parent = IdsFilter(label=gettext_lazy("Parent company (ids)"))

    sorts = sort_orders(
        {
            "name": ["name", "id"],
            "domain": ["domain", "id"],
            "industry": ["industry", "id"],
            "lifecycle_stage": ["lifecycle_stage", "name", "id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "name"

    class Meta:
        model = Company
        fields: list[str] = []

    def filter_domain(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        try:
            return queryset.filter(domain=normalize_domain(value))
        except ValidationError:
            return queryset.filter(domain__icontains=value.strip().lower())

    def filter_currency(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(currency=value.strip().upper())


class ContactFilterSet(RecordFilterSet):
    first_name = django_filters.CharFilter(
        lookup_expr="icontains", label=gettext_lazy("First name")
    )
    last_name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Last name"))
    email = django_filters.CharFilter(method="filter_email", label=gettext_lazy("Email"))
    phone = django_filters.CharFilter(method=_contains_digits, label=gettext_lazy("Phone"))
    job_title = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Job title"))
    company = IdsFilter(label=gettext_lazy("Company (ids)"))
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, distinct=False, label=gettext_lazy("Lifecycle stage")
    )
    source = django_filters.MultipleChoiceFilter(
        choices=ContactSource.choices, distinct=False, label=gettext_lazy("Source")
    )
    preferred_channel = django_filters.MultipleChoiceFilter(
        choices=Channel.choices, distinct=False, label=gettext_lazy("Preferred channel")
    )
    language = django_filters.CharFilter(lookup_expr="iexact", label=gettext_lazy("Language"))
    do_not_email = django_filters.BooleanFilter(label=gettext_lazy("Do not email"))
    do_not_call = django_filters.BooleanFilter(label=gettext_lazy("Do not call"))
    do_not_sms = django_filters.BooleanFilter(label=gettext_lazy("Do not text"))
    do_not_mail = django_filters.BooleanFilter(label=gettext_lazy("Do not send post"))
    birthday = django_filters.DateFromToRangeFilter(label=gettext_lazy("Birthday"))
    list = django_filters.ModelMultipleChoiceFilter(
        queryset=StaticList.objects.none(), method="filter_lists", label=gettext_lazy("List")
    )

    sorts = sort_orders(
        {
            "name": ["last_name", "first_name", "id"],
            "last_name": ["last_name", "first_name", "id"],
            "first_name": ["first_name", "id"],
            "email": ["email", "id"],
            "phone": ["phone", "id"],
            "job_title": ["job_title", "id"],
            "lifecycle_stage": ["lifecycle_stage", "-id"],
            "source": ["source", "-id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "name"

    class Meta:
        model = Contact
        fields: list[str] = []

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.filters["list"].queryset = scope(StaticList.objects.all(), user)

    def filter_email(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(email__contains=value.strip().lower())

    def filter_lists(
        self, queryset: models.QuerySet, name: str, value: list[StaticList]
    ) -> models.QuerySet:
        if not value:  # an empty queryset: no list chosen
            return queryset
        members = ListMembership.objects.filter(static_list__in=value).values("contact_id")
        return queryset.filter(pk__in=members)
