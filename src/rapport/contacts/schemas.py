"""API input and output of companies, contacts, lists, tags and custom field definitions.

Inputs carry related rows by id (``company``, ``owner``, ``tags``); outputs the
same, and tags with their name and colour. ``custom`` holds the values of the
admin-defined fields: ``GET /custom-fields?object_type=contacts.contact``
lists their keys and types.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import create_model

from rapport.contacts.models import (
    AddressKind,
    Channel,
    Company,
    Contact,
    ContactSource,
    EmailKind,
    LifecycleStage,
    PhoneKind,
    SocialNetwork,
    ValueTier,
)
from rapport.core.api import FieldError, RecordOut
from rapport.core.models import CustomFieldDefinition, FieldType

MAX_BULK_ITEMS = 1000
MAX_MEMBERS_PER_CALL = 10_000
CUSTOM_DESCRIPTION = (
    "Custom field values by key. GET /custom-fields?object_type={type} lists the keys, "
    "their types and rules."
)
Blank = Literal[""]


def partial(schema: type[Schema], name: str) -> type[Schema]:
    """``schema`` with every field optional: a PATCH body, where a field left out keeps its
    value. Types stay as they are, so ``null`` is only accepted where it means "none"."""
    fields: dict[str, Any] = {
        field_name: (info.annotation, Field(None, description=info.description))
        for field_name, info in schema.model_fields.items()
    }
    return create_model(name, __base__=Schema, __doc__=schema.__doc__, **fields)


# Child rows, in and out


class EmailIO(Schema):
    email: str
    kind: EmailKind = EmailKind.WORK
    is_primary: bool = Field(False, description="The first email is primary unless one is.")


class PhoneIO(Schema):
    number: str = Field(description="Any format in; E.164 (+4930123456) out.")
    kind: PhoneKind = PhoneKind.WORK
    is_primary: bool = Field(False, description="The first phone is primary unless one is.")


class AddressIO(Schema):
    kind: AddressKind = AddressKind.OFFICE
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = Field("", description="ISO 3166 two-letter code.")


class SocialProfileIn(Schema):
    network: SocialNetwork | None = Field(None, description="Found from the address if left out.")
    url: str


class SocialProfileOut(Schema):
    network: SocialNetwork
    url: str


class TagRef(Schema):
    id: int
    name: str
    color: str


class CompanyRef(Schema):
    id: int
    name: str
    domain: str


# Companies


class CompanyOut(RecordOut):
    id: int
    name: str
    domain: str
    industry: str
    employee_count: int | None
    annual_revenue: Decimal | None
    currency: str
    website: str
    phone: str = Field(description="The primary phone, E.164.")
    parent: int | None = Field(alias="parent_id", description="The parent company's id.")
    lifecycle_stage: LifecycleStage
    value_tier: ValueTier | Blank
    description: str
    owner: int | None = Field(alias="owner_id", description="The owning user's id.")
    team: int | None = Field(alias="team_id", description="The team's id.")
    tags: list[TagRef]
    phones: list[PhoneIO]
    addresses: list[AddressIO]
    social_profiles: list[SocialProfileOut]
    custom: dict[str, Any] = Field(
        description=CUSTOM_DESCRIPTION.format(type=Company._meta.label_lower)
    )
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CompanyIn(Schema):
    """A company. ``phones``, ``addresses``, ``social_profiles`` and ``tags`` given in an
    update replace the company's."""

    name: str
    domain: str = Field("", description="Stored as a bare host name: acme.com.")
    industry: str = ""
    employee_count: int | None = None
    annual_revenue: Decimal | None = None
    currency: str = Field("", description="ISO 4217 code of the revenue, e.g. EUR.")
    website: str = ""
    parent: int | None = Field(None, description="The parent company's id.")
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    value_tier: ValueTier | Blank = ""
    description: str = ""
    owner: int | None = Field(None, description="A user id; you by default.")
    team: int | None = Field(None, description="A team id.")
    tags: list[int] = Field(default_factory=list, description="Tag ids.")
    phones: list[PhoneIO] = Field(default_factory=list)
    addresses: list[AddressIO] = Field(default_factory=list)
    social_profiles: list[SocialProfileIn] = Field(default_factory=list)
    custom: dict[str, Any] = Field(
        default_factory=dict, description=CUSTOM_DESCRIPTION.format(type="contacts.company")
    )


CompanyPatch = partial(CompanyIn, "CompanyPatch")


# Contacts


class ContactOut(RecordOut):
    id: int
    prefix: str
    first_name: str
    middle_name: str
    last_name: str
    suffix: str
    full_name: str
    email: str = Field(description="The primary email.")
    phone: str = Field(description="The primary phone, E.164.")
    emails: list[EmailIO]
    phones: list[PhoneIO]
    addresses: list[AddressIO]
    social_profiles: list[SocialProfileOut]
    job_title: str
    company: int | CompanyRef | None = Field(
        description="The company's id; the company itself with expand=company."
    )
    birthday: datetime.date | None
    language: str
    timezone: str
    preferred_channel: Channel | Blank
    product_interests: list[str]
    brand_interests: list[str]
    do_not_email: bool
    do_not_call: bool
    do_not_sms: bool
    do_not_mail: bool
    source: ContactSource
    lifecycle_stage: LifecycleStage
    owner: int | None = Field(alias="owner_id", description="The owning user's id.")
    team: int | None = Field(alias="team_id", description="The team's id.")
    tags: list[TagRef]
    custom: dict[str, Any] = Field(
        description=CUSTOM_DESCRIPTION.format(type=Contact._meta.label_lower)
    )
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_company(contact: Contact) -> int | Company | None:
        expanded = getattr(contact, "expanded_company", None)
        return expanded if expanded is not None else contact.company_id


class ContactIn(Schema):
    """A contact: at least a name, an email or a phone. ``email``/``phone`` are a shortcut
    for the primary email/phone; give them or ``emails``/``phones``, not both. Lists and
    ``tags`` given in an update replace the contact's."""

    prefix: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    email: str = Field("", description="Sets the primary email; blank removes it.")
    phone: str = Field("", description="Sets the primary phone (any format); blank removes it.")
    emails: list[EmailIO] = Field(default_factory=list)
    phones: list[PhoneIO] = Field(default_factory=list)
    addresses: list[AddressIO] = Field(default_factory=list)
    social_profiles: list[SocialProfileIn] = Field(default_factory=list)
    job_title: str = ""
    company: int | None = Field(
        None, description="A company id; a change is kept in the work history."
    )
    birthday: datetime.date | None = None
    language: str = Field("", description="A language code: en, pt-BR.")
    timezone: str = Field("", description="An IANA time zone: Europe/Berlin.")
    preferred_channel: Channel | Blank = ""
    product_interests: list[str] = Field(default_factory=list)
    brand_interests: list[str] = Field(default_factory=list)
    do_not_email: bool = False
    do_not_call: bool = False
    do_not_sms: bool = False
    do_not_mail: bool = False
    source: ContactSource = ContactSource.API
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    owner: int | None = Field(None, description="A user id; you by default.")
    team: int | None = Field(None, description="A team id.")
    tags: list[int] = Field(default_factory=list, description="Tag ids.")
    custom: dict[str, Any] = Field(
        default_factory=dict, description=CUSTOM_DESCRIPTION.format(type="contacts.contact")
    )


ContactPatch = partial(ContactIn, "ContactPatch")


# Bulk


def _bulk_update_item(patch: type[Schema], name: str) -> type[Schema]:
    return create_model(
        name,
        __base__=patch,
        id=(int, Field(description="The record to change.")),
        version=(
            int | None,
            Field(None, description="The version you read: 412 for this item if it moved on."),
        ),
    )


CompanyBulkUpdate = _bulk_update_item(CompanyPatch, "CompanyBulkUpdate")
ContactBulkUpdate = _bulk_update_item(ContactPatch, "ContactBulkUpdate")


class CompanyBulkIn(Schema):
    """Up to 1,000 items in all; each is written or refused on its own."""

    create: list[CompanyIn] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)
    update: list[CompanyBulkUpdate] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)


class ContactBulkIn(Schema):
    """Up to 1,000 items in all; each is written or refused on its own."""

    create: list[ContactIn] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)
    update: list[ContactBulkUpdate] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)


class BulkItemOut(Schema):
    action: Literal["create", "update"]
    index: int = Field(description="The item's position in its create or update list.")
    status: int = Field(description="201 created, 200 updated, else the problem status.")
    id: int | None = None
    errors: list[FieldError] | None = None


class BulkOut(Schema):
    succeeded: int
    failed: int
    results: list[BulkItemOut]


# Lists


class ListOut(Schema):
    id: int
    name: str
    description: str
    owner: int | None = Field(alias="owner_id")
    team: int | None = Field(alias="team_id")
    member_count: int = Field(
        description="Contacts on the list; GET /contacts?list={id} lists them."
    )
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ListIn(Schema):
    name: str
    description: str = ""


class ListPatch(Schema):
    name: str = Field(None)
    description: str = Field(None)
    owner: int | None = Field(None, description="A user id.")
    team: int | None = Field(None, description="A team id; null removes it.")


class MembersIn(Schema):
    contact_ids: list[int] = Field(max_length=MAX_MEMBERS_PER_CALL)


class MembersAdded(Schema):
    added: int = Field(description="How many were added; those already on the list are skipped.")


class MembersRemoved(Schema):
    removed: int = Field(description="How many were taken off; those not on the list are skipped.")


# Tags


class TagOut(Schema):
    id: int
    name: str
    color: str
    description: str


class TagIn(Schema):
    name: str
    color: str = Field("#64748b", description="#rrggbb.")
    description: str = ""


TagPatch = partial(TagIn, "TagPatch")


# Custom fields


class CustomFieldOut(Schema):
    id: int
    object_type: str = Field(description="app_label.model, e.g. contacts.contact.")
    key: str = Field(description="The key in a record's custom values.")
    label: str
    field_type: FieldType
    required: bool
    default: Any
    choices: list[str]
    validation: dict[str, Any] = Field(
        description="min/max (numbers, dates), min_length/max_length/pattern (text)."
    )
    help_text: str
    sensitive: bool
    position: int
    active: bool

    @staticmethod
    def resolve_object_type(definition: CustomFieldDefinition) -> str:
        return f"{definition.content_type.app_label}.{definition.content_type.model}"


class CustomFieldIn(Schema):
    object_type: str = Field(description="app_label.model, e.g. contacts.contact.")
    key: str
    label: str
    field_type: FieldType
    required: bool = False
    default: Any = None
    choices: list[str] = Field(default_factory=list)
    validation: dict[str, Any] = Field(default_factory=dict)
    help_text: str = ""
    sensitive: bool = False
    position: int = 0
    active: bool = True


class CustomFieldPatch(Schema):
    label: str = Field(None)
    required: bool = Field(None)
    default: Any = Field(None)
    choices: list[str] = Field(None)
    validation: dict[str, Any] = Field(None)
    help_text: str = Field(None)
    sensitive: bool = Field(None)
    position: int = Field(None)
    active: bool = Field(None)


class CustomFieldFilters(Schema):
    object_type: str | None = Field(None, description="app_label.model, e.g. contacts.contact.")
