"""Records the activities tests log on: Acme (a company) and Ann (its buyer), both
Alice's; and Wes, a contact of Charlie's in the west team, whom Alice cannot see."""

from __future__ import annotations

import pytest

from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source


@pytest.fixture
def acme(as_alice) -> Company:
    return contacts.company_create(actor=as_alice, values={"name": "Acme"})


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    return contacts.contact_create(
        actor=as_alice, values={"first_name": "Ann", "last_name": "Archer", "company": acme}
    )


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


@pytest.fixture
def as_charlie(charlie) -> Actor:
    return Actor(user=charlie, source=Source.UI)


@pytest.fixture
def wes(as_charlie) -> Contact:
    return contacts.contact_create(
        actor=as_charlie, values={"first_name": "Wes", "last_name": "West"}
    )
