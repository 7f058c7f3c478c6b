"""Contacts and companies for the duplicate tests, made through the services."""

from __future__ import annotations

from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor


def person(
    actor: Actor,
    first: str,
    last: str,
    *,
    email: str = "",
    phone: str = "",
    company: Company | None = None,
    city: str = "",
    **values,
) -> Contact:
    return services.contact_create(
        actor=actor,
        values={"first_name": first, "last_name": last, "company": company, **values},
        emails=[{"email": email}] if email else [],
        phones=[{"number": phone}] if phone else [],
        addresses=[{"city": city, "country": "DE"}] if city else [],
    )


def firm(actor: Actor, name: str, *, domain: str = "", phone: str = "", city: str = "") -> Company:
    return services.company_create(
        actor=actor,
        values={"name": name, "domain": domain},
        phones=[{"number": phone}] if phone else [],
        addresses=[{"city": city, "country": "DE"}] if city else [],
    )
