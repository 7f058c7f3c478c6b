"""Records the email tests write to: Ann Archer of Acme, Alice's, with a work and a
personal address; Wes, a contact of Charlie's in the west team whom Alice cannot see;
and a way to send that runs what waits for the commit, as a request would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.activities.models import Activity
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.mail import services

Send = Callable[..., Activity]


@pytest.fixture
def acme(as_alice) -> Company:
    return contacts.company_create(actor=as_alice, values={"name": "Acme", "domain": "acme.test"})


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    return contacts.contact_create(
        actor=as_alice,
        values={"first_name": "Ann", "last_name": "Archer", "company": acme},
        emails=[
            {"email": "ann@acme.test", "kind": "work"},
            {"email": "ann.archer@home.test", "kind": "personal"},
        ],
    )


@pytest.fixture
def as_charlie(charlie) -> Actor:
    return Actor(user=charlie, source=Source.UI)


@pytest.fixture
def wes(as_charlie) -> Contact:
    return contacts.contact_create(
        actor=as_charlie, values={"first_name": "Wes", "email": "wes@west.test"}
    )


@pytest.fixture
def send(django_capture_on_commit_callbacks) -> Send:
    """``email_send`` with its after-commit delivery run, as at the end of a request."""

    def sending(**arguments) -> Activity:
        arguments.setdefault("subject", "Hello {{ contact.first_name }}")
        arguments.setdefault("body", "Dear {{ contact.full_name }},\n\nSee you soon.")
        with django_capture_on_commit_callbacks(execute=True):
            return services.email_send(**arguments)

    return sending
