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

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Expression, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
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
from rapport.core.permissions import CUSTOM_RULE_PREFIX, hidden_fields, scope

if TYPE_CHECKING:
    from django.http import QueryDict

SORT_PARAM = "sort"
CUSTOM_PREFIX = "custom__"
# Sort keys of custom fields: ``sort=custom.tier`` (the column's key).
CUSTOM_SORT_PREFIX = "custom."
OWNER_SORT = "sort_owner"
# Custom field values that sort as numbers; a list (multiple choice) does not sort.
NUMERIC_TYPES = (FieldType.INTEGER, FieldType.DECIMAL)
UNSORTABLE_TYPES = (FieldType.MULTI_CHOICE, FieldType.LONG_TEXT)
# Where an empty number sorts: before every value, as an empty text does.
EMPTY_NUMBER = -1e300
EARLIEST = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)
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


def _owner_name() -> Expression:
    """The owner's name as the list shows it, "" without an owner (keyset columns must not
    be NULL)."""
    full_name = Concat(
        "owner__first_name", Value(" "), "owner__last_name", output_field=models.CharField()
    )
    return Coalesce(
        NullIf(Trim(full_name), Value("")),
        "owner__email",
        Value(""),
        output_field=models.CharField(),
    )


def _related_name(relation: str) -> Expression:
    return Coalesce(f"{relation}__name", Value(""))


def _or_lowest(field: str, lowest: Any, output_field: models.Field | None = None) -> Expression:
    """A nullable column with its blanks sorted first, as the keyset needs no NULLs."""
    return Coalesce(field, Value(lowest), output_field=output_field)


def _custom_value(definition: CustomFieldDefinition) -> Expression:
    """A custom field's value as a sortable, never NULL column."""
    value = KT(f"custom__{definition.key}")
    if definition.field_type in NUMERIC_TYPES:
        return Coalesce(Cast(value, models.FloatField()), Value(EMPTY_NUMBER))
    return Coalesce(value, Value(""), output_field=models.TextField())


def custom_sort_key(definition: CustomFieldDefinition) -> str:
    return f"{CUSTOM_SORT_PREFIX}{definition.key}"


def sortable(definition: CustomFieldDefinition) -> bool:
    return definition.field_type not in UNSORTABLE_TYPES


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
    # Kept by the activities app on companies and contacts.
    last_contacted = django_filters.DateFromToRangeFilter(
        field_name="last_contacted_at", label=gettext_lazy("Last contacted")
    )
    next_activity = django_filters.DateFromToRangeFilter(
        field_name="next_activity_at", label=gettext_lazy("Next activity")
    )

    sorts: dict[str, list[str]] = {}
    default_sort = ""
    # Sorts by an expression rather than a column; annotated only when the sort is chosen.
    sort_annotations: dict[str, Callable[[], Expression]] = {
        OWNER_SORT: _owner_name,
        "sort_team": lambda: _related_name("team"),
        "sort_last_contacted": lambda: _or_lowest("last_contacted_at", EARLIEST),
        # Records with nothing planned come after every planned one, soonest first.
        "sort_next_activity": lambda: _or_lowest("next_activity_at", LATEST),
    }

    def __init__(
        self,
        data: QueryDict | Mapping[str, Any] | None = None,
        queryset: models.QuerySet | None = None,
        *,
        user: User,
        search_cap: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset, **kwargs)
        self.user = user
        # With a cap, the quick search keeps its first ``search_cap`` matches (a page's
        # bounded candidate set) and ``search_capped`` says whether there were more.
        self.search_cap = search_cap
        self.search_capped = False
        # Sorts by expressions (the owner's name, custom fields): annotated on the queryset
        # under these names only when the chosen sort uses them.
        self.sort_expressions: dict[str, Expression] = {
            name: build() for name, build in self.sort_annotations.items()
        }
        self.sorts = dict(self.sorts)
        hidden = hidden_fields(user, self._meta.model)
        for definition in definitions_for(self._meta.model):
            if f"{CUSTOM_RULE_PREFIX}{definition.key}" in hidden:
                continue
            self.filters[f"{CUSTOM_PREFIX}{definition.key}"] = CustomFieldFilter(definition)
            if sortable(definition):
                annotation = f"sort_custom_{definition.key}"
                self.sort_expressions[annotation] = _custom_value(definition)
                self.sorts |= sort_orders({custom_sort_key(definition): [annotation, "id"]})
        if hidden:
            self._leave_out(hidden)

    def _leave_out(self, hidden: frozenset[str]) -> None:
        """No filter or sort on a field the user may not see: narrowing or ordering the
        list by it would tell what it holds."""
        for name, filter_ in list(self.filters.items()):
            if {name, (filter_.field_name or "").split("__")[0]} & hidden:
                del self.filters[name]
        for key, ordering in list(self.sorts.items()):
            if key.lstrip("-") == self.default_sort:
                continue  # the record's name: shown on every row anyway
            if {key.lstrip("-"), *(part.lstrip("-").split("__")[0] for part in ordering)} & hidden:
                del self.sorts[key]

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

    def filter_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        queryset = super().filter_queryset(queryset)
        columns = {name.lstrip("-") for name in self.ordering}
        needed = {
            name: expression
            for name, expression in self.sort_expressions.items()
            if name in columns
        }
        return queryset.annotate(**needed) if needed else queryset

    # Filter methods

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        if self.search_cap is None:
            return search.filter_queryset(queryset, value)
        model = queryset.model
        ids = search.first_matching_ids(model, self.user, value, limit=self.search_cap + 1)
        self.search_capped = len(ids) > self.search_cap
        return queryset.filter(pk__in=ids[: self.search_cap])

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
            "value_tier": ["value_tier", "name", "id"],
            "website": ["website", "id"],
            "phone": ["phone", "id"],
            "employee_count": ["sort_employees", "name", "id"],
            "annual_revenue": ["sort_revenue", "name", "id"],
            "parent": ["sort_parent", "name", "id"],
            "owner": [OWNER_SORT, "name", "id"],
            "team": ["sort_team", "name", "id"],
            "last_contacted_at": ["sort_last_contacted", "name", "id"],
            "next_activity_at": ["sort_next_activity", "name", "id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "name"
    sort_annotations = RecordFilterSet.sort_annotations | {
        # Signed: below a positive field's range, Django reads "> -1" as always true.
        "sort_employees": lambda: _or_lowest("employee_count", -1, models.BigIntegerField()),
        "sort_revenue": lambda: _or_lowest("annual_revenue", Decimal(-1)),
        "sort_parent": lambda: _related_name("parent"),
    }

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
            "company": ["sort_company", "last_name", "first_name", "id"],
            "preferred_channel": ["preferred_channel", "last_name", "first_name", "id"],
            "language": ["language", "last_name", "first_name", "id"],
            "birthday": ["sort_birthday", "last_name", "first_name", "id"],
            "do_not_email": ["do_not_email", "last_name", "first_name", "id"],
            "do_not_call": ["do_not_call", "last_name", "first_name", "id"],
            "owner": [OWNER_SORT, "last_name", "first_name", "id"],
            "team": ["sort_team", "last_name", "first_name", "id"],
            "last_contacted_at": ["sort_last_contacted", "last_name", "first_name", "id"],
            "next_activity_at": ["sort_next_activity", "last_name", "first_name", "id"],
            "created_at": ["created_at", "id"],
            "updated_at": ["updated_at", "id"],
        }
    )
    default_sort = "name"
    sort_annotations = RecordFilterSet.sort_annotations | {
        "sort_company": lambda: _related_name("company"),
        "sort_birthday": lambda: _or_lowest("birthday", datetime.date.min),
    }

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
