"""What can be imported: per record type, the fields a column can fill, the keys an
import can match existing records by, and the services that write a row.

A type lists its target fields; each has a reader (``exchange.cells``) and
header names it is suggested for. Custom fields of the type join as
``custom.<key>``; companies and contacts also take one address
(``address.city``…) and tags. A row becomes a ``Prepared`` — the values,
custom values, address and tags the type's services take — and the services
(``contact_create``, ``lead_update``…) do every check and write, as for a
page or the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.activities import services as activities
from rapport.activities.models import Activity
from rapport.contacts import services as contacts
from rapport.contacts.bulk_create import ContactDraft, contacts_create_many
from rapport.contacts.models import Address, Company, Contact, ContactEmail, Tag
from rapport.core.actors import Actor
from rapport.core.audit import json_value
from rapport.core.customfields import definitions_for
from rapport.core.models import FieldType, Record
from rapport.exchange import cells
from rapport.sales import deals, leads
from rapport.sales import services as sales
from rapport.sales.models import Deal, Lead, LeadSource, Product

Reader = Callable[[str, cells.Options], Any]
CUSTOM = "custom."
ADDRESS = "address."
ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")
# Kinds of reference a cell can hold, resolved to rows by ``exchange.imports``.
USER, TEAM, COMPANY, CONTACT, TAGS = "user", "team", "company", "contact", "tags"
PIPELINE, STAGE = "pipeline", "stage"


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    read: Reader = cells.text
    aliases: tuple[str, ...] = ()
    # For a cell naming another row: which kind of row (``USER``, ``COMPANY``…).
    reference: str = ""


@dataclass
class Prepared:
    """A row as the type's services take it."""

    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    # All the record's addresses (a rollback puts back those from before), when given,
    # rather than ``address`` joining them (an import).
    addresses: list[dict[str, Any]] | None = None
    tags: list[Tag] = field(default_factory=list)
    # Tags given replace the record's (a rollback) rather than join them (an import).
    replace_tags: bool = False


Lookup = Callable[[list[Any]], dict[Any, Record]]
Create = Callable[[Actor, Prepared], Record]
CreateMany = Callable[[Actor, list[Prepared]], list[Any]]
Update = Callable[[Record, Actor, Prepared], Record]


@dataclass(frozen=True)
class ImportType:
    key: str
    model: type[Record]
    targets: tuple[Target, ...]
    # Target names an import may match existing records by, with how to find them.
    keys: dict[str, Lookup]
    # Each group needs at least one of its targets mapped.
    required: tuple[tuple[str, ...], ...]
    create: Create
    update: Update
    # Creates many rows in one go, each as ``create`` would, or their ValidationErrors.
    create_many: CreateMany | None = None
    # Keys matched whatever their letter case: two spellings in one file are one record.
    case_insensitive_keys: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return capfirst(self.model._meta.verbose_name_plural)

    def all_targets(self) -> list[Target]:
        return [*self.targets, *custom_targets(self.model)]

    def targets_by_name(self) -> dict[str, Target]:
        """Every target by name; read once per batch (custom fields query the database)."""
        return {target.name: target for target in self.all_targets()}

    def target(self, name: str) -> Target | None:
        return self.targets_by_name().get(name)

    def key_choices(self) -> list[tuple[str, str]]:
        choices = [(name, self.target(name).label) for name in self.keys]
        choices += [(target.name, target.label) for target in custom_targets(self.model)]
        return choices

    def lookup(self, key: str, values: list[Any]) -> dict[Any, Record]:
        """The live records whose ``key`` is one of ``values``, by that value as
        ``folded_key`` gives it."""
        if key in self.keys:
            found = self.keys[key](values)
        else:
            found = by_field(self.model, f"custom__{key.removeprefix(CUSTOM)}")(values)
        return {self.folded_key(key, value): record for value, record in found.items()}

    def folded_key(self, key: str, value: Any) -> Any:
        """The value a row is matched by: upper-cased for a key compared in any case."""
        if value is not None and key in self.case_insensitive_keys:
            return str(value).upper()
        return value


# Targets


def _model_target(model: type[models.Model], name: str, *aliases: str, **kinds: Any) -> Target:
    model_field = model._meta.get_field(name)
    label = str(capfirst(model_field.verbose_name))
    if "read" in kinds or "reference" in kinds:
        return Target(name, label, aliases=(name, *aliases), **kinds)
    return Target(name, label, _reader_of(model_field), (name, *aliases))


def _reader_of(model_field: models.Field) -> Reader:
    if model_field.choices:
        return cells.choice_reader(dict(model_field.flatchoices))
    for kind, reader in (
        (models.BooleanField, cells.boolean),
        (models.DateTimeField, cells.moment),
        (models.DateField, cells.date),
        (models.DecimalField, cells.decimal_number),
        (models.IntegerField, cells.integer),
        (models.URLField, cells.url),
    ):
        if isinstance(model_field, kind):
            return reader
    return cells.text


CUSTOM_READERS: dict[str, Reader] = {
    FieldType.INTEGER: cells.integer,
    FieldType.DECIMAL: cells.decimal_number,
    FieldType.BOOLEAN: cells.boolean,
    FieldType.DATE: cells.date,
    FieldType.EMAIL: cells.email,
    FieldType.URL: cells.url,
    FieldType.MULTI_CHOICE: cells.word_list,
}


def custom_targets(model: type[Record]) -> list[Target]:
    return [
        Target(
            f"{CUSTOM}{definition.key}",
            definition.label,
            CUSTOM_READERS.get(definition.field_type, cells.text),
            (definition.key, definition.label),
        )
        for definition in definitions_for(model)
    ]


def _address_targets() -> tuple[Target, ...]:
    labels = (
        ("street", cells.name, ("address", "street address", "address line 1")),
        ("city", cells.name, ("town",)),
        ("region", cells.name, ("state", "province", "county")),
        ("postal_code", cells.text, ("zip", "zip code", "postcode", "postal code")),
        ("country", cells.country, ("country code",)),
    )
    return tuple(
        Target(
            f"{ADDRESS}{name}",
            str(capfirst(Address._meta.get_field(name).verbose_name)),
            reader,
            (name, *aliases),
        )
        for name, reader, aliases in labels
    )


def _people_targets(model: type[Record]) -> tuple[Target, ...]:
    return (
        _model_target(model, "first_name", "first", "given name", "forename", read=cells.name),
        _model_target(model, "last_name", "last", "surname", "family name", read=cells.name),
        _model_target(model, "email", "e-mail", "email address", "mail", read=cells.email),
        _model_target(model, "phone", "telephone", "phone number", "mobile", read=cells.phone),
        _model_target(model, "job_title", "title", "position", "role"),
        _model_target(model, "owner", "owner email", "assigned to", reference=USER),
        _model_target(model, "team", reference=TEAM),
    )


# Keys


def _related(model: type[Record]) -> list[str]:
    # What ``unchanged`` and the writers read of each record found.
    return [name for name in ("addresses", "tags") if hasattr(model, name)]


def by_field(model: type[Record], lookup: str) -> Lookup:
    related = _related(model)

    def find(values: list[Any]) -> dict[Any, Record]:
        found = model.objects.filter(**{f"{lookup}__in": values}).prefetch_related(*related)
        found = found.order_by("id")
        return {_value_at(record, lookup): record for record in found.reverse()}

    return find


def _value_at(record: Record, lookup: str) -> Any:
    if lookup.startswith("custom__"):
        return record.custom.get(lookup.removeprefix("custom__"))
    return getattr(record, lookup)


def _contacts_by_email(values: list[Any]) -> dict[Any, Record]:
    # Any of a contact's addresses, not only the primary one, names it.
    rows = ContactEmail.objects.filter(email__in=values, contact__deleted_at__isnull=True)
    owners = dict(rows.order_by("-contact_id").values_list("email", "contact_id"))
    by_id = Contact.objects.prefetch_related("addresses", "tags").in_bulk(set(owners.values()))
    return {email: by_id[contact_id] for email, contact_id in owners.items()}


def by_field_in_any_case(model: type[Record], name: str) -> Lookup:
    """Records whose text field ``name`` is one of the values in any letter case. The
    exact value is always found; the database finds the other spellings (SQLite folds
    only ASCII letters); the first record of each spelling wins."""
    related = _related(model)

    def find(values: list[Any]) -> dict[Any, Record]:
        texts = [str(value) for value in values]
        found = (
            model.objects.annotate(folded=Upper(name))
            .filter(Q(**{f"{name}__in": texts}) | Q(folded__in=[text.upper() for text in texts]))
            .order_by("id")
            .prefetch_related(*related)
        )
        by_folded: dict[str, Record] = {}
        for record in found:
            by_folded.setdefault(getattr(record, name).upper(), record)
        return {value: by_folded[value.upper()] for value in texts if value.upper() in by_folded}

    return find


# Writing


def unchanged(record: Record, row: Prepared) -> bool:
    """Whether writing ``row`` to ``record`` would change nothing, judged in memory; when
    unsure, False, and the service decides. Spares the services a re-imported file."""
    for name, value in row.values.items():
        current = getattr(record, name, None)
        if isinstance(value, models.Model):
            value, current = value.pk, getattr(record, f"{name}_id", None)
        if current != value:
            return False
    if any(json_value(value) != record.custom.get(key) for key, value in row.custom.items()):
        return False
    if row.tags and not set(row.tags) <= set(record.tags.all()):
        return False
    return not row.address or _with_address(record.addresses.all(), row.address) is None


def _with_address(addresses: Iterable[Address], new: dict[str, str]) -> list[dict[str, Any]] | None:
    """The record's addresses plus ``new`` unless one of them has its values already;
    None when nothing changes."""
    kept = [
        {"kind": address.kind} | {name: getattr(address, name) for name in ADDRESS_FIELDS}
        for address in addresses
    ]
    if not new or any(all(item[k] == v for k, v in new.items()) for item in kept):
        return None
    return [*kept, new]


def _tags_after(record: Record, row: Prepared) -> list[Tag] | None:
    """An import adds tags and never removes one; None when the record has them all."""
    if row.replace_tags:
        return row.tags
    current = list(record.tags.all())
    added = [tag for tag in row.tags if tag not in current]
    return [*current, *added] if added else None


def _addresses_after(record: Record, row: Prepared) -> list[dict[str, Any]] | None:
    if row.addresses is not None:
        return row.addresses
    return _with_address(record.addresses.all(), row.address)


def _create_contact(actor: Actor, row: Prepared) -> Record:
    return contacts.contact_create(
        actor=actor,
        values=row.values | {"source": row.values.get("source", "import")},
        custom=row.custom,
        addresses=[row.address] if row.address else None,
        tags=row.tags,
    )


def _create_contacts(actor: Actor, rows: list[Prepared]) -> list[Any]:
    drafts = [
        ContactDraft(
            values=row.values | {"source": row.values.get("source", "import")},
            custom=row.custom,
            addresses=[row.address] if row.address else None,
            tags=row.tags,
        )
        for row in rows
    ]
    return contacts_create_many(actor=actor, drafts=drafts)


def _update_contact(contact: Record, actor: Actor, row: Prepared) -> Record:
    return contacts.contact_update(
        contact,
        actor=actor,
        values=row.values,
        custom=row.custom,
        addresses=_addresses_after(contact, row),
        tags=_tags_after(contact, row),
    )


def _create_company(actor: Actor, row: Prepared) -> Record:
    return contacts.company_create(
        actor=actor,
        values=row.values,
        custom=row.custom,
        addresses=[row.address] if row.address else None,
        tags=row.tags,
    )


def _update_company(company: Record, actor: Actor, row: Prepared) -> Record:
    return contacts.company_update(
        company,
        actor=actor,
        values=row.values,
        custom=row.custom,
        addresses=_addresses_after(company, row),
        tags=_tags_after(company, row),
    )


def _plain(create: Callable[..., Record], update: Callable[..., Record]) -> tuple[Create, Update]:
    """Writers for a type whose services take only ``values`` and ``custom``."""
    return (
        lambda actor, row: create(actor=actor, values=row.values, custom=row.custom),
        lambda record, actor, row: update(
            record, actor=actor, values=row.values, custom=row.custom
        ),
    )


# The types


def _contacts() -> ImportType:
    return ImportType(
        key="contacts",
        model=Contact,
        targets=(
            _model_target(Contact, "prefix", "salutation"),
            *_people_targets(Contact)[:2],
            _model_target(Contact, "middle_name", "middle", read=cells.name),
            _model_target(Contact, "suffix"),
            *_people_targets(Contact)[2:5],
            _model_target(
                Contact, "company", "company name", "organization", "account", reference=COMPANY
            ),
            _model_target(Contact, "birthday", "date of birth", "birth date"),
            _model_target(Contact, "language", "locale"),
            _model_target(Contact, "timezone", "time zone"),
            _model_target(Contact, "preferred_channel"),
            _model_target(Contact, "lifecycle_stage", "stage", "lifecycle"),
            _model_target(Contact, "source", "lead source"),
            _model_target(Contact, "do_not_email", "unsubscribed", "email opt out"),
            _model_target(Contact, "do_not_call", "call opt out"),
            _model_target(Contact, "do_not_sms"),
            _model_target(Contact, "do_not_mail"),
            *_address_targets(),
            Target(TAGS, str(_("Tags")), cells.word_list, ("tags", "labels"), reference=TAGS),
            *_people_targets(Contact)[5:],
        ),
        keys={"email": _contacts_by_email},
        required=(("first_name", "last_name", "email", "phone"),),
        create=_create_contact,
        update=_update_contact,
        create_many=_create_contacts,
    )


def _companies() -> ImportType:
    return ImportType(
        key="companies",
        model=Company,
        targets=(
            _model_target(
                Company, "name", "company", "company name", "organization", read=cells.name
            ),
            _model_target(Company, "domain", "email domain", read=cells.domain),
            _model_target(Company, "website", "url", "web site"),
            _model_target(Company, "industry", "sector"),
            _model_target(Company, "employee_count", "employees", "headcount", "size"),
            _model_target(Company, "annual_revenue", "revenue"),
            _model_target(Company, "currency"),
            _model_target(Company, "phone", "telephone", read=cells.phone),
            _model_target(Company, "parent", "parent company", reference=COMPANY),
            _model_target(Company, "lifecycle_stage", "stage", "lifecycle"),
            _model_target(Company, "value_tier", "tier"),
            _model_target(Company, "description", "notes", "about"),
            *_address_targets(),
            Target(TAGS, str(_("Tags")), cells.word_list, ("tags", "labels"), reference=TAGS),
            _model_target(Company, "owner", "owner email", "assigned to", reference=USER),
            _model_target(Company, "team", reference=TEAM),
        ),
        keys={
            "domain": by_field(Company, "domain"),
            "name": by_field_in_any_case(Company, "name"),
        },
        required=(("name",),),
        create=_create_company,
        update=_update_company,
        case_insensitive_keys=("name",),
    )


def _create_lead(actor: Actor, row: Prepared) -> Record:
    # Marked as imported unless the file says where it came from, as contacts are.
    values = row.values | {"source": row.values.get("source", LeadSource.IMPORT)}
    return leads.lead_create(actor=actor, values=values, custom=row.custom)


def _update_lead(lead: Record, actor: Actor, row: Prepared) -> Record:
    return leads.lead_update(lead, actor=actor, values=row.values, custom=row.custom)


def _leads() -> ImportType:
    return ImportType(
        key="leads",
        model=Lead,
        targets=(
            *_people_targets(Lead)[:5],
            _model_target(Lead, "company_name", "company", "organization", "account"),
            _model_target(Lead, "website", "url"),
            _model_target(Lead, "country", read=cells.country),
            _model_target(Lead, "source", "lead source"),
            _model_target(Lead, "status", "lead status"),
            _model_target(Lead, "description", "message", "notes"),
            *_people_targets(Lead)[5:],
        ),
        keys={"email": by_field(Lead, "email")},
        required=(("first_name", "last_name", "email", "phone", "company_name"),),
        create=_create_lead,
        update=_update_lead,
    )


def _products() -> ImportType:
    create, update = _plain(sales.product_create, sales.product_update)
    return ImportType(
        key="products",
        model=Product,
        targets=(
            _model_target(Product, "sku", "product code", "item code", "code"),
            _model_target(Product, "name", "product", "product name"),
            _model_target(Product, "description"),
            _model_target(Product, "tax_rate", "tax", "vat", "vat rate"),
            _model_target(Product, "active", "enabled"),
            _model_target(Product, "owner", "owner email", reference=USER),
        ),
        keys={"sku": by_field_in_any_case(Product, "sku")},
        required=(("sku",), ("name",)),
        create=create,
        update=update,
        case_insensitive_keys=("sku",),
    )


def _deals() -> ImportType:
    create, update = _plain(deals.deal_create, deals.deal_update)
    return ImportType(
        key="deals",
        model=Deal,
        targets=(
            _model_target(Deal, "name", "deal", "deal name", "opportunity", "title"),
            _model_target(Deal, "pipeline", reference=PIPELINE),
            _model_target(Deal, "stage", "deal stage", reference=STAGE),
            _model_target(Deal, "company", "company name", "account", reference=COMPANY),
            _model_target(Deal, "amount", "value", "deal value"),
            _model_target(Deal, "currency", read=cells.text),
            _model_target(Deal, "expected_close_date", "close date", "closing date"),
            _model_target(Deal, "probability"),
            _model_target(Deal, "next_step"),
            _model_target(Deal, "source", "lead source"),
            _model_target(Deal, "description", "notes"),
            _model_target(Deal, "owner", "owner email", reference=USER),
            _model_target(Deal, "team", reference=TEAM),
        ),
        keys={},
        required=(("name",),),
        create=create,
        update=update,
    )


def _activity_links(row: Prepared) -> list[Record]:
    """The contact and company an activity row names become the records it links to."""
    return [
        record
        for record in (row.values.pop(name, None) for name in ("contact", "company"))
        if record
    ]


def _create_activity(actor: Actor, row: Prepared) -> Record:
    values = dict(row.values)
    links = _activity_links(Prepared(values=values))
    return activities.activity_create(
        actor=actor, kind=values.pop("kind", ""), links=links, values=values
    )


def _update_activity(activity: Record, actor: Actor, row: Prepared) -> Record:
    values = dict(row.values)
    links = _activity_links(Prepared(values=values))
    values.pop("kind", None)
    # An import adds the records it names to the activity's links, never removes one.
    current = [(link.object_type, link.object_id) for link in activity.links.all()]
    return activities.activity_update(
        activity, actor=actor, values=values, links=[*current, *links] if links else None
    )


def _activities() -> ImportType:
    return ImportType(
        key="activities",
        model=Activity,
        targets=(
            _model_target(Activity, "kind", "type", "activity type"),
            _model_target(Activity, "subject", "title"),
            _model_target(Activity, "body", "notes", "description", "details", "text"),
            _model_target(Activity, "occurred_at", "date", "when", "activity date"),
            Target(
                "contact",
                str(_("Contact (email)")),
                cells.email,
                ("contact", "contact email", "email"),
                CONTACT,
            ),
            Target(
                "company",
                str(_("Company")),
                cells.text,
                ("company", "account", "organization"),
                COMPANY,
            ),
            _model_target(Activity, "direction"),
            _model_target(Activity, "duration_seconds", "duration"),
            _model_target(Activity, "outcome", "call outcome"),
            _model_target(Activity, "location"),
            _model_target(Activity, "starts_at", "start"),
            _model_target(Activity, "ends_at", "end"),
            _model_target(Activity, "owner", "owner email", "logged by", reference=USER),
        ),
        keys={},
        required=(("kind",), ("contact", "company")),
        create=_create_activity,
        update=_update_activity,
    )


_TYPES: dict[str, Callable[[], ImportType]] = {
    "contacts": _contacts,
    "companies": _companies,
    "leads": _leads,
    "deals": _deals,
    "products": _products,
    "activities": _activities,
}


def import_type(key: str) -> ImportType | None:
    """The type named ``key`` (labels are built in the active language)."""
    build = _TYPES.get(key)
    return build() if build else None


def import_types() -> list[ImportType]:
    return [build() for build in _TYPES.values()]
