from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts.models import User
from rapport.conftest import make_user
from rapport.contacts.models import Contact
from rapport.contacts.services import contact_create
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.tasks import services
from rapport.tasks.models import Task


def actor_for(user: User) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dave(west) -> User:
    """Charlie's teammate in the west team."""
    return make_user("dave@example.com", role_slug="sales-rep", teams=[west])


@pytest.fixture
def acme(as_alice) -> Contact:
    return contact_create(actor=as_alice, values={"first_name": "Ada", "last_name": "Acme"})


@pytest.fixture
def hidden_contact(charlie) -> Contact:
    """A contact of the west team, which alice and bob may not see."""
    return contact_create(
        actor=actor_for(charlie), values={"first_name": "Wes", "last_name": "Tern"}
    )


def in_hours(hours: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)


def make_task(actor: Actor, title: str = "Call Acme", **values) -> Task:
    related = values.pop("related", ())
    return services.task_create(actor=actor, values={"title": title, **values}, related=related)
