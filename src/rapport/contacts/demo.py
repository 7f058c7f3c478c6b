"""Demo companies and contacts: realistic names, emails, phones and addresses from
Faker in eight countries, owned by the demo sales floor, with tags and lists.

``rapport demo`` builds ``DEFAULT_CONTACTS`` contacts; ``rapport demo
--contacts N`` builds N contacts and N/5 companies, up to a million for the
benchmarks. Rows go in with ``bulk_create`` in batches rather than through
the services: demo data needs no audit entries or domain events, and the
services' per-row checks would turn minutes into hours. The search index is
still needed, so it is rebuilt in bulk at the end (``core.search.reindex``).
The same seed builds the same records.
"""

from __future__ import annotations

import datetime
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import accumulate
from typing import Any

import phonenumbers
from django.utils import timezone
from faker import Faker

from rapport.accounts.models import User
from rapport.contacts.models import (
    Address,
    AddressKind,
    Channel,
    Company,
    Contact,
    ContactEmail,
    ContactSource,
    EmailKind,
    Employment,
    LifecycleStage,
    ListMembership,
    Phone,
    PhoneKind,
    StaticList,
    Tag,
    ValueTier,
)
from rapport.core import bulk, search
from rapport.core.models import SearchEntry

DEFAULT_CONTACTS = 2_000
CONTACTS_PER_COMPANY = 5
BATCH = 5_000
POOL_SIZE = 300
HISTORY_DAYS = 3 * 365
RANDOM_PHONE_DIGITS = 6
VALUE_TIERS = ValueTier.values
CHANNELS = ["", *Channel.values]
BULK_LOADED = (
    Company,
    Contact,
    ContactEmail,
    Phone,
    Address,
    Employment,
    Contact.tags.through,
    Company.tags.through,
    ListMembership,
)


@dataclass(frozen=True)
class Country:
    locale: str
    region: str
    language: str
    timezone: str
    tld: str
    currency: str
    mail_domains: tuple[str, ...]


COUNTRIES = [
    Country("en_US", "US", "en", "America/New_York", "com", "USD", ("gmail.com", "yahoo.com")),
    Country("en_GB", "GB", "en", "Europe/London", "co.uk", "GBP", ("gmail.com", "btinternet.com")),
    Country("de_DE", "DE", "de", "Europe/Berlin", "de", "EUR", ("web.de", "gmx.de")),
    Country("fr_FR", "FR", "fr", "Europe/Paris", "fr", "EUR", ("orange.fr", "free.fr")),
    Country("es_ES", "ES", "es", "Europe/Madrid", "es", "EUR", ("gmail.com", "telefonica.net")),
    Country("it_IT", "IT", "it", "Europe/Rome", "it", "EUR", ("libero.it", "gmail.com")),
    Country("nl_NL", "NL", "nl", "Europe/Amsterdam", "nl", "EUR", ("ziggo.nl", "gmail.com")),
    Country("sv_SE", "SE", "sv", "Europe/Stockholm", "se", "SEK", ("telia.com", "gmail.com")),
]
# More contacts in the bigger markets.
COUNTRY_CUMULATIVE = list(accumulate([30, 12, 18, 12, 8, 8, 6, 6]))
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Logistics",
    "Healthcare",
    "Financial services",
    "Energy",
    "Hospitality",
    "Construction",
    "Media",
    "Education",
    "Food and beverage",
]
PRODUCT_CATEGORIES = ["Hardware", "Software", "Services", "Training", "Support plans"]
BRANDS = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware"]
TAGS = [
    ("VIP", "#b42318", "Our most valued relationships."),
    ("Newsletter", "#2450c7", "Reads the monthly newsletter."),
    ("Partner", "#17753a", "Resells or refers."),
    ("Trade fair 2026", "#8a5a00", "Met at the spring trade fair."),
    ("Churn risk", "#9b1c8c", "Signals of leaving."),
    ("Decision maker", "#0f766e", "Signs the contracts."),
]
LISTS = [
    ("Webinar invitees", "Invited to the product webinar."),
    ("Customer advisory board", "Gives feedback on the roadmap."),
    ("Holiday cards", "Gets a card in December."),
    ("Beta testers", "Tries new releases first."),
]
STAGE_WEIGHTS = {
    LifecycleStage.SUBSCRIBER: 10,
    LifecycleStage.LEAD: 35,
    LifecycleStage.QUALIFIED: 15,
    LifecycleStage.OPPORTUNITY: 10,
    LifecycleStage.CUSTOMER: 22,
    LifecycleStage.EVANGELIST: 3,
    LifecycleStage.CHURNED: 5,
}
SOURCE_WEIGHTS = {
    ContactSource.WEB: 30,
    ContactSource.REFERRAL: 12,
    ContactSource.EVENT: 15,
    ContactSource.CAMPAIGN: 18,
    ContactSource.PARTNER: 8,
    ContactSource.MANUAL: 12,
    ContactSource.IMPORT: 5,
}


@cache
def _cumulative_of(weights: tuple[int, ...]) -> list[int]:
    return list(accumulate(weights))


def _cumulative(weights: dict[str, int]) -> list[int]:
    # random.choices sums plain weights on every call; cumulative ones are summed once.
    return _cumulative_of(tuple(weights.values()))


def _ascii(text: str) -> str:
    """``text`` as lower-case ASCII letters and digits, for email addresses and domains."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def _unique(values: Iterator[str]) -> list[str]:
    # dict keeps first-seen order, so the pool is the same for the same seed.
    return list(dict.fromkeys(values))


class Generator:
    """Draws demo rows from per-country pools of Faker data with one seeded ``Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.pools = {}
        for country in COUNTRIES:
            fake = Faker(country.locale)
            fake.seed_instance(seed)
            self.pools[country.locale] = {
                "first": _unique(fake.first_name() for _ in range(POOL_SIZE)),
                "last": _unique(fake.last_name() for _ in range(POOL_SIZE)),
                "company": _unique(fake.company() for _ in range(POOL_SIZE * 3)),
                "street": _unique(fake.street_address() for _ in range(POOL_SIZE)),
                "city": _unique(fake.city() for _ in range(POOL_SIZE // 3)),
                "postcode": _unique(fake.postcode() for _ in range(POOL_SIZE)),
                "job": _unique(fake.job() for _ in range(POOL_SIZE // 2)),
            }
        self.phone_prefixes = {
            country.region: self._phone_prefixes(country.region) for country in COUNTRIES
        }

    @staticmethod
    def _phone_prefixes(region: str) -> list[str]:
        """E.164 beginnings of a mobile and a landline number; the rest is random digits."""
        prefixes = []
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            national = phonenumbers.national_significant_number(example)
            prefixes.append(f"+{example.country_code}{national[:-RANDOM_PHONE_DIGITS]}")
        return prefixes

    def country(self) -> Country:
        return self.rng.choices(COUNTRIES, cum_weights=COUNTRY_CUMULATIVE)[0]

    def pick(self, country: Country, pool: str) -> str:
        return self.rng.choice(self.pools[country.locale][pool])

    def phone(self, country: Country) -> str:
        prefix = self.rng.choice(self.phone_prefixes[country.region])
        return prefix + str(self.rng.randrange(10**RANDOM_PHONE_DIGITS)).zfill(RANDOM_PHONE_DIGITS)

    def created_at(self) -> datetime.datetime:
        return self.now - datetime.timedelta(seconds=self.rng.randrange(HISTORY_DAYS * 86_400))

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), cum_weights=_cumulative(weights))[0]


@dataclass(frozen=True)
class Owner:
    user_id: int | None
    team_id: int | None


@dataclass(frozen=True)
class CompanyRef:
    id: int
    name: str
    domain: str
    country: Country


def _owners() -> list[Owner]:
    """The demo sales floor, in a fixed order so the same seed gives the same owners."""
    users = (
        User.objects.filter(is_active=True, role__slug__in=["sales-rep", "sales-manager"])
        .prefetch_related("teams")
        .order_by("email")
    )
    owners = [
        Owner(user.pk, min((team.pk for team in user.teams.all()), default=None)) for user in users
    ]
    return owners or [Owner(None, None)]


def _chunks(ids: range) -> Iterator[range]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _company_row(gen: Generator, pk: int, owner: Owner, country: Country) -> dict[str, Any]:
    name = gen.pick(country, "company")
    domain = f"{_ascii(name.split()[0])[:30] or 'company'}.{country.tld}"
    return {
        "id": pk,
        "name": name,
        "domain": domain,
        "website": f"https://www.{domain}/",
        "industry": gen.rng.choice(INDUSTRIES),
        "employee_count": int(gen.rng.lognormvariate(3.5, 1.5)) + 1,
        "annual_revenue": Decimal(gen.rng.randrange(100, 500_000) * 1000),
        "currency": country.currency,
        "phone": gen.phone(country),
        "lifecycle_stage": gen.weighted(STAGE_WEIGHTS),
        "value_tier": gen.rng.choice(VALUE_TIERS),
        "owner_id": owner.user_id,
        "team_id": owner.team_id,
        "created_by_id": owner.user_id,
        "created_at": gen.created_at(),
    }


def _create_companies(gen: Generator, owners: list[Owner], count: int) -> list[CompanyRef]:
    refs: list[CompanyRef] = []
    for chunk in _chunks(bulk.reserve_ids(Company, count)):
        countries = [gen.country() for _pk in chunk]
        rows = [
            _company_row(gen, pk, gen.rng.choice(owners), country)
            for pk, country in zip(chunk, countries, strict=True)
        ]
        bulk.insert(Company, rows)
        bulk.insert(
            Phone,
            (
                {
                    "company_id": row["id"],
                    "contact_id": None,
                    "number": row["phone"],
                    "kind": PhoneKind.WORK,
                    "is_primary": True,
                }
                for row in rows
            ),
        )
        bulk.insert(
            Address,
            (
                {
                    "company_id": row["id"],
                    "contact_id": None,
                    "kind": AddressKind.OFFICE,
                    "street": gen.pick(country, "street"),
                    "postal_code": gen.pick(country, "postcode"),
                    "city": gen.pick(country, "city"),
                    "country": country.region,
                }
                for row, country in zip(rows, countries, strict=True)
            ),
        )
        refs.extend(
            CompanyRef(row["id"], row["name"], row["domain"], country)
            for row, country in zip(rows, countries, strict=True)
        )
    return refs


def _contact_row(gen: Generator, pk: int, owner: Owner, company: CompanyRef | None) -> dict:
    country = company.country if company else gen.country()
    first, last = gen.pick(country, "first"), gen.pick(country, "last")
    domain = company.domain if company else gen.rng.choice(country.mail_domains)
    birthday = None
    if gen.rng.random() < 0.3:
        birthday = datetime.date(gen.rng.randrange(1950, 2004), 1, 1) + datetime.timedelta(
            days=gen.rng.randrange(365)
        )
    return {
        "id": pk,
        "first_name": first,
        "last_name": last,
        "email": f"{_ascii(first)}.{_ascii(last)}@{domain}",
        "phone": gen.phone(country) if gen.rng.random() < 0.8 else "",
        "job_title": gen.pick(country, "job") if company else "",
        "company_id": company.id if company else None,
        "birthday": birthday,
        "language": country.language,
        "timezone": country.timezone,
        "preferred_channel": gen.rng.choice(CHANNELS),
        "product_interests": gen.rng.sample(PRODUCT_CATEGORIES, gen.rng.randrange(3)),
        "brand_interests": gen.rng.sample(BRANDS, gen.rng.randrange(2)),
        "do_not_email": gen.rng.random() < 0.05,
        "do_not_call": gen.rng.random() < 0.08,
        "source": gen.weighted(SOURCE_WEIGHTS),
        "lifecycle_stage": gen.weighted(STAGE_WEIGHTS),
        "owner_id": owner.user_id,
        "team_id": owner.team_id,
        "created_by_id": owner.user_id,
        "created_at": gen.created_at(),
    }


def _create_contact_channels(gen: Generator, rows: list[dict]) -> None:
    emails = [
        {"contact_id": row["id"], "email": row["email"], "kind": EmailKind.WORK, "is_primary": True}
        for row in rows
    ]
    emails += [
        {
            "contact_id": row["id"],
            "email": f"{_ascii(row['first_name'])}{gen.rng.randrange(100)}@gmail.com",
            "kind": EmailKind.PERSONAL,
            "is_primary": False,
        }
        for row in rows
        if row["company_id"] and gen.rng.random() < 0.2
    ]
    bulk.insert(ContactEmail, emails)
    bulk.insert(
        Phone,
        (
            {
                "contact_id": row["id"],
                "company_id": None,
                "number": row["phone"],
                "kind": PhoneKind.MOBILE,
                "is_primary": True,
            }
            for row in rows
            if row["phone"]
        ),
    )
    bulk.insert(
        Employment,
        (
            {
                "contact_id": row["id"],
                "company_id": row["company_id"],
                "job_title": row["job_title"],
                "started_on": row["created_at"].date(),
                "ended_on": None,
                "is_current": True,
            }
            for row in rows
            if row["company_id"]
        ),
    )


def _create_contacts(
    gen: Generator, owners: list[Owner], companies: list[CompanyRef], count: int
) -> range:
    ids = bulk.reserve_ids(Contact, count)
    for chunk in _chunks(ids):
        rows = []
        for pk in chunk:
            company = gen.rng.choice(companies) if gen.rng.random() < 0.85 else None
            rows.append(_contact_row(gen, pk, gen.rng.choice(owners), company))
        bulk.insert(Contact, rows)
        _create_contact_channels(gen, rows)
    return ids


def _tag_and_list(
    gen: Generator, owners: list[Owner], contact_ids: range, companies: list[CompanyRef]
) -> None:
    # Tags are shared by name: a second demo load on the same database reuses them.
    tags = [
        Tag.objects.get_or_create(name=name, defaults={"color": color, "description": text})[0]
        for name, color, text in TAGS
    ]
    bulk.insert(
        Contact.tags.through,
        (
            {"contact_id": pk, "tag_id": gen.rng.choice(tags).pk}
            for pk in gen.rng.sample(contact_ids, len(contact_ids) // 7)
        ),
    )
    bulk.insert(
        Company.tags.through,
        (
            {"company_id": ref.id, "tag_id": gen.rng.choice(tags).pk}
            for ref in gen.rng.sample(companies, len(companies) // 5)
        ),
    )
    size = min(500, len(contact_ids) // 10)
    for name, text in LISTS:
        owner = gen.rng.choice(owners)
        static_list = StaticList.objects.create(
            name=name,
            description=text,
            owner_id=owner.user_id,
            team_id=owner.team_id,
            created_by_id=owner.user_id,
        )
        bulk.insert(
            ListMembership,
            (
                {
                    "static_list_id": static_list.pk,
                    "contact_id": pk,
                    "added_by_id": owner.user_id,
                    "added_at": gen.now,
                }
                for pk in gen.rng.sample(contact_ids, size)
            ),
        )


def load(*, seed: int, contacts: int | None = None) -> None:
    """Build ``contacts`` demo contacts (``DEFAULT_CONTACTS`` if not given) and a fifth as
    many companies, then index them for search."""
    count = DEFAULT_CONTACTS if contacts is None else contacts
    gen = Generator(seed)
    owners = _owners()
    with bulk.without_indexes(*BULK_LOADED):
        companies = _create_companies(gen, owners, max(1, count // CONTACTS_PER_COMPANY))
        contact_ids = _create_contacts(gen, owners, companies, count)
        _tag_and_list(gen, owners, contact_ids, companies)
    bulk.reset_sequences(Company, Contact)
    with bulk.without_indexes(SearchEntry):
        search.reindex(Company)
        search.reindex(Contact)
    bulk.analyze(*BULK_LOADED, SearchEntry)
