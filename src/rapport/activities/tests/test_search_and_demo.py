"""Activities in global search (subject and text, within the view scope) and in the
demo workspace."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from rapport.activities.models import Activity, ActivityLink
from rapport.activities.tests.factories import log_call, log_note
from rapport.contacts.models import Contact
from rapport.core import search

pytestmark = pytest.mark.django_db


def titles(user, query: str) -> list[str]:
    return [hit.title for group in search.search(user, query) for hit in group.hits]


def test_activities_are_found_by_subject_and_text_by_who_may_see_them(
    as_alice, alice, bob, charlie, ann
):
    log_call(as_alice, ann, subject="Renewal negotiation")
    log_note(as_alice, ann, "Wants the quarterly invoice split by department")

    assert titles(bob, "renewal") == ["Call: Renewal negotiation"]
    assert titles(alice, "quarterly depart") == [
        "Note: Wants the quarterly invoice split by department"
    ]
    assert titles(charlie, "renewal") == []


def test_a_trashed_activity_leaves_search(as_alice, alice, ann):
    from rapport.activities import services

    call = log_call(as_alice, ann, subject="Renewal negotiation")
    services.activity_delete(call, actor=as_alice)

    assert titles(alice, "renewal") == []


def test_the_demo_gives_contacts_a_history():
    call_command("demo", "--seed", "2", "--contacts", "40", stdout=io.StringIO())

    assert Activity.objects.exists()
    linked = set(
        ActivityLink.objects.filter(object_type="contacts.contact").values_list(
            "object_id", flat=True
        )
    )
    assert linked == set(Contact.objects.values_list("pk", flat=True))
    assert Contact.objects.filter(last_contacted_at__isnull=False).exists()
    for activity in Activity.objects.all():
        activity.full_clean()
    client = Client()
    client.login(email="admin@example.com", password="rapport-demo")
    contact = Contact.objects.first()
    assert client.get(contact.get_absolute_url()).status_code == 200
