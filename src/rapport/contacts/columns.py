"""The columns a company or contact list can show, custom fields included.

A column knows its label, how to read its value from a row (``value``), how
to write it as text (``text``: what the CSV export holds) and as a table cell
(``cell``: escaped HTML, with links where they help), the ``sort`` key the
list's FilterSet understands, and the related rows it needs loaded with the
page so a page of 50 rows costs the same few queries as a page of one.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Team, User
from rapport.contacts.filtersets import NUMERIC_TYPES, custom_sort_key, sortable
from rapport.contacts.models import CONTACT_LABEL_FIELDS, Company, Contact, Tag, contact_label
from rapport.core.customfields import definitions_for
from rapport.core.models import CustomFieldDefinition
from rapport.core.permissions import hidden_fields

CUSTOM_PREFIX = "custom."
EMPTY_CELL = "—"


def plain(value: Any) -> str:
    """``value`` as text for a cell or a CSV field: dates in ISO form, lists joined."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(item) for item in value)
    return str(value)


def empty_cell() -> SafeString:
    return format_html('<span class="muted">{}</span>', EMPTY_CELL)


def tag_badges(tags: Iterable[Tag]) -> SafeString:
    """Tags as badges in their colours."""
    badges = format_html_join(
        " ",
        '<span class="badge tag" data-tag-color="{}">{}</span>',
        ((tag.color, tag.name) for tag in tags),
    )
    return badges or empty_cell()


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    value: Callable[[models.Model], Any]
    sort: str = ""
    default: bool = False
    numeric: bool = False
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    link: Callable[[models.Model], str] | None = None
    badges: bool = False
    reads: Reads | None = None

    def plain_reads(self, model: type[models.Model]) -> Reads | None:
        """How an export reads this column without model rows; None if it cannot."""
        if self.reads is not None:
            return self.reads
        return self.value.reads(model) if isinstance(self.value, FieldValue) else None

    def text(self, row: models.Model) -> str:
        return plain(self.value(row))

    def fields(self) -> set[str]:
        """The fields this column shows or sorts by, as field rules name them."""
        names = {self.key}
        if isinstance(self.value, FieldValue):
            names.add(self.value.name.split("__")[0])
        if self.sort:
            names.add(self.sort.lstrip("-"))
        return names

    def cell(self, row: models.Model) -> SafeString:
        value = self.value(row)
        if self.badges:
            return tag_badges(value)
        text = plain(value)
        if not text:
            return empty_cell()
        href = self.link(row) if self.link else ""
        if href:
            return format_html('<a href="{}">{}</a>', href, text)
        return format_html("{}", text)


@dataclass(frozen=True)
class Reads:
    """How an export makes a column's value from plain field values (``paths`` as
    ``values_list`` takes them), without building model rows: several times faster."""

    paths: tuple[str, ...]
    combine: Callable[..., Any] | None = None  # None: the one path's value as it is


def _converted(convert: Callable[[models.Field, Any], Any], model_field: models.Field) -> Callable:
    """``convert`` for one field, remembering its answers: an export asks for the same few
    values (a stage's label) a million times, in one language."""
    seen: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        if value not in seen:
            seen[value] = convert(model_field, value)
        return seen[value]

    return converted


class FieldValue:
    """A column's value: one field of the row, through ``convert`` if given."""

    def __init__(self, name: str, convert: Callable[[models.Field, Any], Any] | None = None):
        self.name = name
        self.convert = convert

    def __call__(self, row: models.Model) -> Any:
        value = getattr(row, self.name)
        return self.convert(row._meta.get_field(self.name), value) if self.convert else value

    def reads(self, model: type[models.Model]) -> Reads | None:
        model_field = model._meta.get_field(self.name)
        if not model_field.is_relation:
            if self.convert is None:
                return Reads((self.name,))
            return Reads((self.name,), _converted(self.convert, model_field))
        label = RELATED_LABELS.get(model_field.related_model)
        if label is None:
            return None
        paths, combine = label
        return Reads(tuple(f"{self.name}__{path}" for path in paths), combine)


def _person(first_name: str | None, last_name: str | None, email: str | None) -> str:
    # As User.__str__ (get_full_name, else the email).
    return f"{first_name or ''} {last_name or ''}".strip() or (email or "")


# How the rows other records point at are named, from their fields.
RELATED_LABELS: dict[type[models.Model], tuple[tuple[str, ...], Callable[..., Any]]] = {
    User: (("first_name", "last_name", "email"), _person),
    Team: (("name",), lambda name: name or ""),
    Company: (("name",), lambda name: name or ""),
}


def attr_of(name: str) -> FieldValue:
    return FieldValue(name)


@functools.cache
def choice_labels(field: models.Field) -> dict[Any, Any]:
    """``field``'s choices as value → (lazy) label, built once: Django's
    ``get_FOO_display`` rebuilds this for every call, hashing every label, which a page
    of fifty rows pays fifty times per column."""
    return dict(field.flatchoices)


_translated_labels: dict[tuple[models.Field, str | None, Any], str] = {}


def _label_of(model_field: models.Field, value: Any) -> str:
    # Translating a lazy label costs more than the rest of a cell: once per language.
    key = (model_field, translation.get_language(), value)
    if key not in _translated_labels:
        _translated_labels[key] = str(choice_labels(model_field).get(value, value))
    return _translated_labels[key]


def display_of(name: str) -> FieldValue:
    return FieldValue(name, _label_of)


def _name(row: models.Model) -> str:
    return str(row)


COMPANY_NAME = Reads(("name",))
CONTACT_NAME = Reads(CONTACT_LABEL_FIELDS, contact_label)


def record_url(row: models.Model) -> str:
    return row.get_absolute_url()


def related_url(name: str) -> Callable[[models.Model], str]:
    def url(row: models.Model) -> str:
        related = getattr(row, name)
        return related.get_absolute_url() if related is not None else ""

    return url


def _tags(row: models.Model) -> list[Tag]:
    return list(row.tags.all())


def _mailto(row: Contact) -> str:
    return f"mailto:{row.email}" if row.email else ""


def _tel(row: models.Model) -> str:
    return f"tel:{row.phone}" if row.phone else ""


def _revenue(row: Company) -> str:
    if row.annual_revenue is None:
        return ""
    amount = formats.number_format(row.annual_revenue, decimal_pos=0, force_grouping=True)
    return f"{amount} {row.currency}".strip()


def owner_column() -> Column:
    return Column(
        "owner",
        gettext_lazy("Owner"),
        attr_of("owner"),
        sort="owner",
        default=True,
        select_related=("owner",),
    )


def team_column() -> Column:
    return Column(
        "team", gettext_lazy("Team"), attr_of("team"), sort="team", select_related=("team",)
    )


def _engagement() -> list[Column]:
    """The dates the activities app keeps from the timeline."""
    return [
        Column(
            "last_contacted_at",
            gettext_lazy("Last contacted"),
            attr_of("last_contacted_at"),
            sort="last_contacted_at",
        ),
        Column(
            "next_activity_at",
            gettext_lazy("Next activity"),
            attr_of("next_activity_at"),
            sort="next_activity_at",
        ),
    ]


def _tags_column() -> Column:
    return Column("tags", gettext_lazy("Tags"), _tags, prefetch_related=("tags",), badges=True)


def timestamp_columns() -> list[Column]:
    return [
        Column("created_at", gettext_lazy("Created"), attr_of("created_at"), sort="created_at"),
        Column("updated_at", gettext_lazy("Updated"), attr_of("updated_at"), sort="updated_at"),
    ]


COMPANY_COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        gettext_lazy("Name"),
        _name,
        sort="name",
        default=True,
        link=record_url,
        reads=COMPANY_NAME,
    ),
    Column("domain", gettext_lazy("Domain"), attr_of("domain"), sort="domain", default=True),
    Column(
        "industry", gettext_lazy("Industry"), attr_of("industry"), sort="industry", default=True
    ),
    Column(
        "employee_count",
        gettext_lazy("Employees"),
        attr_of("employee_count"),
        sort="employee_count",
        numeric=True,
    ),
    Column(
        "annual_revenue",
        gettext_lazy("Annual revenue"),
        _revenue,
        sort="annual_revenue",
        numeric=True,
    ),
    Column(
        "website",
        gettext_lazy("Website"),
        attr_of("website"),
        sort="website",
        link=attr_of("website"),
    ),
    Column("phone", gettext_lazy("Phone"), attr_of("phone"), sort="phone", link=_tel),
    Column(
        "parent",
        gettext_lazy("Parent company"),
        attr_of("parent"),
        sort="parent",
        select_related=("parent",),
        link=related_url("parent"),
    ),
    Column(
        "lifecycle_stage",
        gettext_lazy("Lifecycle stage"),
        display_of("lifecycle_stage"),
        sort="lifecycle_stage",
        default=True,
    ),
    Column("value_tier", gettext_lazy("Value tier"), display_of("value_tier"), sort="value_tier"),
    *_engagement(),
    owner_column(),
    team_column(),
    _tags_column(),
    *timestamp_columns(),
)

CONTACT_COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        gettext_lazy("Name"),
        _name,
        sort="name",
        default=True,
        link=record_url,
        reads=CONTACT_NAME,
    ),
    Column(
        "email", gettext_lazy("Email"), attr_of("email"), sort="email", default=True, link=_mailto
    ),
    Column("phone", gettext_lazy("Phone"), attr_of("phone"), sort="phone", default=True, link=_tel),
    Column(
        "company",
        gettext_lazy("Company"),
        attr_of("company"),
        sort="company",
        default=True,
        select_related=("company",),
        link=related_url("company"),
    ),
    Column("job_title", gettext_lazy("Job title"), attr_of("job_title"), sort="job_title"),
    Column(
        "lifecycle_stage",
        gettext_lazy("Lifecycle stage"),
        display_of("lifecycle_stage"),
        sort="lifecycle_stage",
        default=True,
    ),
    Column("source", gettext_lazy("Source"), display_of("source"), sort="source"),
    Column(
        "preferred_channel",
        gettext_lazy("Preferred channel"),
        display_of("preferred_channel"),
        sort="preferred_channel",
    ),
    Column("language", gettext_lazy("Language"), attr_of("language"), sort="language"),
    Column("birthday", gettext_lazy("Birthday"), attr_of("birthday"), sort="birthday"),
    Column(
        "do_not_email", gettext_lazy("Do not email"), attr_of("do_not_email"), sort="do_not_email"
    ),
    Column("do_not_call", gettext_lazy("Do not call"), attr_of("do_not_call"), sort="do_not_call"),
    *_engagement(),
    owner_column(),
    team_column(),
    _tags_column(),
    *timestamp_columns(),
)


def _custom_column(definition: CustomFieldDefinition) -> Column:
    key = definition.key
    return Column(
        f"{CUSTOM_PREFIX}{key}",
        definition.label,
        lambda row: (row.custom or {}).get(key),
        sort=custom_sort_key(definition) if sortable(definition) else "",
        reads=Reads(("custom",), lambda custom: (custom or {}).get(key)),
        numeric=definition.field_type in NUMERIC_TYPES,
    )


# The built-in columns of each record type with a list page; other apps add theirs.
BUILT_IN_COLUMNS: dict[type[models.Model], tuple[Column, ...]] = {
    Company: COMPANY_COLUMNS,
    Contact: CONTACT_COLUMNS,
}


def register_columns(model: type[models.Model], columns: tuple[Column, ...]) -> None:
    """Give ``model``'s list page (and its exports) these built-in columns."""
    BUILT_IN_COLUMNS[model] = columns


def available_columns(model: type[models.Model], user: User | None = None) -> list[Column]:
    """Every column ``model``'s list offers: its own fields, then its custom fields; with
    ``user``, without those showing a field their role hides (the name always stays)."""
    columns = [*BUILT_IN_COLUMNS[model], *(_custom_column(d) for d in definitions_for(model))]
    hidden = hidden_fields(user, model) if user is not None else frozenset()
    return [c for c in columns if c.key == "name" or not c.fields() & hidden]


def chosen_columns(available: Sequence[Column], keys: Iterable[str]) -> list[Column]:
    """The columns named by ``keys`` in the order given, unknown keys dropped; the
    defaults when none is left. The name column always comes first."""
    by_key = {column.key: column for column in available}
    chosen = [by_key[key] for key in dict.fromkeys(keys) if key in by_key]
    if not chosen:
        chosen = [column for column in available if column.default]
    name = by_key["name"]
    return [name, *(column for column in chosen if column is not name)]


def load_related(queryset: models.QuerySet, columns: Iterable[Column]) -> models.QuerySet:
    """``queryset`` with what ``columns`` read loaded alongside, never row by row."""
    columns = list(columns)
    selected = sorted({name for column in columns for name in column.select_related})
    prefetched = sorted({name for column in columns for name in column.prefetch_related})
    if selected:
        queryset = queryset.select_related(*selected)
    if prefetched:
        queryset = queryset.prefetch_related(*prefetched)
    return queryset
