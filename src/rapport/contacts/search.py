"""What global search knows of companies and contacts (registered with ``core.search``).

Phones are indexed in the digit forms people type: the E.164 digits
(``4930123456``), the national number with its trunk prefix (``030123456``)
and without (``30123456``), so "+49 30 123456", "030 1234 56" and "3012" all
find ``+4930123456``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

import phonenumbers
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Contact, ContactEmail, Phone
from rapport.core import search

MAX_COUNTRY_CODE_DIGITS = 3


@cache
def _national_prefix(country_code: int) -> str:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return (metadata.national_prefix if metadata else None) or ""


def phone_forms(number: str) -> list[str]:
    """The digit strings a phone number is searched by (``number`` in E.164)."""
    digits = "".join(char for char in number if char.isdigit())
    if not number.startswith("+"):
        return [digits] if digits else []
    for length in range(1, MAX_COUNTRY_CODE_DIGITS + 1):
        country_code = int(digits[:length] or 0)
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            return [digits, national, _national_prefix(country_code) + national]
    return [digits]


def _phones(numbers: list[str]) -> list[str]:
    return [form for number in dict.fromkeys(numbers) if number for form in phone_forms(number)]


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _company_words(name: str, domain: str, website: str, numbers: list[str]) -> list[str]:
    return [name, domain, _host(website), *_phones(numbers)]


def _contact_words(
    names: tuple[str, str, str], emails: list[str], numbers: list[str], company_name: str
) -> list[str]:
    return [*names, *dict.fromkeys(emails), *_phones(numbers), company_name]


def company_text(company: Company) -> list[str]:
    numbers = [company.phone, *(phone.number for phone in company.phones.all())]
    return _company_words(company.name, company.domain, company.website, numbers)


def contact_text(contact: Contact) -> list[str]:
    return _contact_words(
        (contact.first_name, contact.middle_name, contact.last_name),
        [contact.email, *(email.email for email in contact.emails.all())],
        [contact.phone, *(phone.number for phone in contact.phones.all())],
        contact.company.name if contact.company else "",
    )


def _grouped(pairs: Iterable[tuple[int, str]]) -> defaultdict[int, list[str]]:
    grouped: defaultdict[int, list[str]] = defaultdict(list)
    for pk, value in pairs:
        grouped[pk].append(value)
    return grouped


def companies_text(pks: list[int]) -> dict[int, list[str]]:
    """``company_text`` of many companies, read as plain values (for ``search.reindex``)."""
    phones = _grouped(Phone.objects.filter(company__in=pks).values_list("company_id", "number"))
    rows = Company.all_objects.filter(pk__in=pks).values_list(
        "pk", "name", "domain", "website", "phone"
    )
    return {
        pk: _company_words(name, domain, website, [phone, *phones[pk]])
        for pk, name, domain, website, phone in rows
    }


def contacts_text(pks: list[int]) -> dict[int, list[str]]:
    """``contact_text`` of many contacts, read as plain values (for ``search.reindex``)."""
    emails = _grouped(
        ContactEmail.objects.filter(contact__in=pks).values_list("contact_id", "email")
    )
    phones = _grouped(Phone.objects.filter(contact__in=pks).values_list("contact_id", "number"))
    rows = Contact.all_objects.filter(pk__in=pks).values_list(
        "pk", "first_name", "middle_name", "last_name", "email", "phone", "company__name"
    )
    return {
        pk: _contact_words(
            (first, middle, last), [email, *emails[pk]], [phone, *phones[pk]], company or ""
        )
        for pk, first, middle, last, email, phone, company in rows
    }


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


search.register(
    Contact,
    label=_("Contacts"),
    text=contact_text,
    title=str,
    subtitle=lambda contact: _joined(
        contact.job_title, contact.company.name if contact.company else "", contact.email
    ),
    url=lambda contact: contact.get_absolute_url(),
    queryset=lambda: Contact.objects.select_related("company").prefetch_related("emails", "phones"),
    bulk_text=contacts_text,
)
search.register(
    Company,
    label=_("Companies"),
    text=company_text,
    title=str,
    subtitle=lambda company: _joined(company.domain, company.industry),
    url=lambda company: company.get_absolute_url(),
    queryset=lambda: Company.objects.prefetch_related("phones"),
    dependents=lambda company: company.contacts.all(),
    bulk_text=companies_text,
)
