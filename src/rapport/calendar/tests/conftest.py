"""The calendar tests' people and records: Ann (Alice's contact, ann@example.com) and
Wes (Charlie's, in the west team, whom Alice cannot see); Alice reads her calendar in
New York time."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.test import Client

from rapport.accounts.models import User
from rapport.activities import services as activities
from rapport.activities.models import Activity
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.tasks import services as tasks
from rapport.tasks.models import Task

UTC = datetime.UTC


def actor_for(user: User) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def at(*parts: int) -> datetime.datetime:
    """A UTC time: ``at(2025, 6, 2, 14)``."""
    return datetime.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def alice(alice) -> User:
    alice.timezone = "America/New_York"
    alice.save(update_fields=["timezone"])
    return alice


@pytest.fixture
def acme(as_alice) -> Company:
    return contacts.company_create(actor=as_alice, values={"name": "Acme"})


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    return contacts.contact_create(
        actor=as_alice,
        values={
            "first_name": "Ann",
            "last_name": "Archer",
            "email": "ann@example.com",
            "company": acme,
        },
    )


@pytest.fixture
def wes(charlie) -> Contact:
    return contacts.contact_create(
        actor=actor_for(charlie),
        values={"first_name": "Wes", "last_name": "West", "email": "wes@example.com"},
    )


def make_meeting(
    user: User,
    record,
    subject: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    **arguments,
) -> Activity:
    values = {"subject": subject, "starts_at": starts_at, "ends_at": ends_at}
    values |= arguments.pop("values", {})
    return activities.activity_create(
        actor=actor_for(user), kind="meeting", links=[record], values=values, **arguments
    )


def make_task(user: User, title: str, due_at: datetime.datetime | None, **values) -> Task:
    return tasks.task_create(
        actor=actor_for(user), values={"title": title, "due_at": due_at, **values}
    )


DAY_SECTION = re.compile(
    r'<section class="[^"]*" aria-labelledby="day-(\d{4}-\d{2}-\d{2})">(.*?)</section>', re.S
)


def days_of(html: str) -> dict[str, str]:
    """Each day's section of a calendar page, by ISO date."""
    return dict(DAY_SECTION.findall(html))


def titles_in(section: str) -> list[str]:
    """The item titles of a day's section, in order."""
    found = re.findall(r'<a href="/(?:activities|tasks)/\d+/">([^<]*)</a>', section)
    return [html.unescape(title) for title in found]
