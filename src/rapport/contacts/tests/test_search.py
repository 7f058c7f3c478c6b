"""Global search over companies and contacts: what finds a record, who sees it,
and that no input breaks it (``core.search`` with ``contacts.search``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import services
from rapport.contacts.models import Company, Contact, ContactEmail
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.models import SearchEntry, Source

HOSTILE_QUERIES = [
    '"',
    '"unbalanced',
    "AND OR NOT",
    "*",
    "NEAR(",
    "johnson NEAR( annabel",
    "col:value ^start -minus +plus",
    "'; DROP TABLE contacts_contact; --",
    "😀 🎉",
    "%_\\",
    "x" * 10_000,
    "anna " * 2_000,
]


def actor_for(user) -> Actor:
    return Actor(user=user, source=Source.UI)


@pytest.fixture
def acme(as_alice) -> Company:
    return services.company_create(
        actor=as_alice,
        values={"name": "Acme Rockets", "domain": "acme-rockets.example"},
        phones=[{"number": "+4930987654"}],
    )


@pytest.fixture
def annabel(as_alice, acme) -> Contact:
    return services.contact_create(
        actor=as_alice,
        values={"first_name": "Annabel", "last_name": "Johnson", "company": acme},
        emails=[
            {"email": "annabel.johnson@acme-rockets.example"},
            {"email": "belle@home.example", "kind": "personal"},
        ],
        phones=[{"number": "+4930123456"}],
    )


@pytest.fixture
def charlies_contact(charlie) -> Contact:
    return services.contact_create(
        actor=actor_for(charlie),
        values={"first_name": "Annabel", "last_name": "Westwood"},
        emails=[{"email": "annabel@west.example"}],
    )


def titles(user, query: str) -> dict[str, list[str]]:
    return {group.key: [hit.title for hit in group.hits] for group in search.search(user, query)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "Annabel Johnson",
        "johnson annabel",
        "ANNABEL",
        "Ann",
        "joh ann",
        "annabel.johnson@acme-rockets.example",
        "belle@home",
        "acme-rockets.example",
        "Acme",
        "+49 30 123456",
        "+4930123456",
        "030 1234 56",
        "030/123456",
        "(030) 123-456",
        "3012",
        "Jhonson",
        "Anabel",
    ],
)
def test_a_contact_is_found_by_name_email_phone_company_and_with_a_typo(alice, annabel, query):
    assert titles(alice, query).get("contacts.contact") == ["Annabel Johnson"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["acme", "Acme Rockets", "acme-rockets.example", "030 987654"])
def test_a_company_is_found_by_name_domain_and_phone(alice, acme, query):
    assert titles(alice, query).get("contacts.company") == ["Acme Rockets"]


@pytest.mark.django_db
def test_hits_carry_a_subtitle_and_the_record_url(alice, annabel):
    (group,) = [
        group for group in search.search(alice, "annabel") if group.key == "contacts.contact"
    ]
    (hit,) = group.hits

    assert hit.url == annabel.get_absolute_url()
    assert hit.object_id == annabel.pk
    assert "Acme Rockets" in hit.subtitle
    assert str(group.label) == "Contacts"


@pytest.mark.django_db
def test_groups_come_in_registration_order_and_respect_the_limit(as_alice, alice, acme):
    for number in range(5):
        services.contact_create(
            actor=as_alice, values={"first_name": f"Acmeist{number}", "company": acme}
        )

    groups = search.search(alice, "acme", limit_per_type=3)

    assert [group.key for group in groups] == ["contacts.contact", "contacts.company"]
    assert len(groups[0].hits) == 3


@pytest.mark.django_db
def test_a_rep_finds_only_records_of_their_team(alice, bob, charlie, annabel, charlies_contact):
    assert titles(alice, "annabel")["contacts.contact"] == ["Annabel Johnson"]
    assert titles(bob, "annabel")["contacts.contact"] == ["Annabel Johnson"]
    assert titles(charlie, "annabel")["contacts.contact"] == ["Annabel Westwood"]
    assert titles(charlie, "acme") == {}


@pytest.mark.django_db
def test_an_admin_finds_everyone(admin, annabel, charlies_contact):
    assert sorted(titles(admin, "annabel")["contacts.contact"]) == [
        "Annabel Johnson",
        "Annabel Westwood",
    ]


@pytest.mark.django_db
def test_nobody_anonymous_finds_anything(annabel):
    assert search.search(None, "annabel") == []


@pytest.mark.django_db
def test_an_owner_change_moves_the_record_between_scopes(as_admin, alice, charlie, annabel):
    services.contact_update(annabel, actor=as_admin, values={"owner": charlie, "team": None})

    assert titles(alice, "annabel") == {}
    assert titles(charlie, "annabel")["contacts.contact"] == ["Annabel Johnson"]


@pytest.mark.django_db
def test_edits_are_searchable_at_once_and_old_words_are_gone(as_alice, alice):
    boris = services.contact_create(
        actor=as_alice, values={"first_name": "Boris", "last_name": "Becker"}
    )
    services.contact_update(boris, actor=as_alice, values={"last_name": "Okafor"})

    assert titles(alice, "okafor")["contacts.contact"] == ["Boris Okafor"]
    assert titles(alice, "becker") == {}


@pytest.mark.django_db
def test_a_renamed_company_renames_its_contacts_in_the_index(as_alice, alice):
    orbital = services.company_create(actor=as_alice, values={"name": "Orbital"})
    services.contact_create(
        actor=as_alice, values={"first_name": "Mara", "last_name": "Quist", "company": orbital}
    )

    services.company_update(orbital, actor=as_alice, values={"name": "Zenith Labs"})

    assert titles(alice, "zenith") == {
        "contacts.contact": ["Mara Quist"],
        "contacts.company": ["Zenith Labs"],
    }
    assert titles(alice, "orbital") == {}


@pytest.mark.django_db
def test_trashed_records_are_not_found_and_restored_ones_are(as_alice, alice, annabel):
    services.contact_delete(annabel, actor=as_alice)

    assert titles(alice, "annabel") == {}
    assert not SearchEntry.objects.filter(object_id=annabel.pk, object_type="contacts.contact")

    annabel.refresh_from_db()
    annabel.deleted_at = None
    annabel.save()
    search.index(annabel)
    assert titles(alice, "annabel")["contacts.contact"] == ["Annabel Johnson"]


@pytest.mark.django_db
def test_a_trashed_record_with_a_stale_entry_is_still_hidden(alice, annabel):
    Contact.all_objects.filter(pk=annabel.pk).update(deleted_at="2026-01-01T00:00:00Z")

    assert titles(alice, "annabel") == {}


@pytest.mark.django_db
def test_index_reads_the_saved_record_not_the_callers_stale_copy(alice, annabel):
    stale = Contact.objects.prefetch_related("emails").get(pk=annabel.pk)
    assert len(stale.emails.all()) == 2
    ContactEmail.objects.create(contact=annabel, email="anna.j@later.example")

    search.index(stale)

    assert titles(alice, "anna.j@later")["contacts.contact"] == ["Annabel Johnson"]


@pytest.mark.django_db
def test_remove_drops_the_entry(alice, annabel):
    search.remove(annabel)

    assert titles(alice, "annabel") == {}


@pytest.mark.django_db
def test_reindex_rebuilds_entries_of_records_written_without_the_services(alice, annabel):
    Contact.objects.filter(pk=annabel.pk).update(last_name="Lindqvist")
    SearchEntry.objects.filter(object_type="contacts.contact").update(text="stale")

    assert search.reindex(Contact) == 1
    assert titles(alice, "lindqvist")["contacts.contact"] == ["Annabel Lindqvist"]
    assert "contacts.contact" not in titles(alice, "stale")


@pytest.mark.django_db
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_give_results_or_none_never_an_error(alice, admin, annabel, query):
    for user in (alice, admin):
        assert isinstance(search.search(user, query), list)
    assert list(search.filter_queryset(Contact.objects.all(), query)) in ([], [annabel])


@pytest.mark.django_db
def test_operators_are_words_to_look_for(as_alice, alice):
    services.contact_create(actor=as_alice, values={"first_name": "Near", "last_name": "Orr"})

    assert titles(alice, "NEAR( OR")["contacts.contact"] == ["Near Orr"]


@pytest.mark.django_db
def test_filter_queryset_narrows_a_list_to_the_matching_records(as_alice, annabel, acme):
    other = services.contact_create(actor=as_alice, values={"first_name": "Boris"})
    contacts = Contact.objects.all()

    assert list(search.filter_queryset(contacts, "ann")) == [annabel]
    assert list(search.filter_queryset(contacts, "jhonson")) == [annabel]
    assert list(search.filter_queryset(contacts, "boris")) == [other]
    assert list(search.filter_queryset(contacts, "acme")) == [annabel]
    assert list(search.filter_queryset(Company.objects.all(), "acme")) == [acme]
    assert list(search.filter_queryset(contacts, "nobody")) == []
    assert list(search.filter_queryset(contacts, "!!!")) == []


@pytest.mark.django_db
def test_search_issues_one_query_per_object_type(alice, annabel, acme):
    search.search(alice, "warmup")  # the user's teams are read once per user object
    with CaptureQueriesContext(connection) as queries:
        search.search(alice, "annabel")

    assert len(queries) == len(search.registrations())


@pytest.mark.django_db
def test_a_capped_quick_search_keeps_its_first_matches_within_the_readers_scope(
    alice, charlie, as_alice, annabel, charlies_contact
):
    second = services.contact_create(
        actor=as_alice, values={"first_name": "Annie", "last_name": "Ng"}
    )

    assert sorted(search.first_matching_ids(Contact, alice, "ann", limit=10)) == sorted(
        [annabel.pk, second.pk]
    )
    assert len(search.first_matching_ids(Contact, alice, "ann", limit=1)) == 1
    assert search.first_matching_ids(Contact, alice, "jhonson", limit=10) == [annabel.pk]
    assert search.first_matching_ids(Contact, alice, "annabel", limit=10) == [annabel.pk]
    assert search.first_matching_ids(Contact, charlie, "annabel", limit=10) == [charlies_contact.pk]
    assert search.first_matching_ids(Contact, alice, "!!!", limit=10) == []


@pytest.mark.django_db
def test_the_list_page_says_when_its_quick_search_was_capped(
    alice_client, as_alice, annabel, monkeypatch
):
    from rapport.contacts import listing

    services.contact_create(actor=as_alice, values={"first_name": "Annie", "last_name": "Ng"})
    monkeypatch.setattr(listing, "QUICK_SEARCH_CANDIDATES", 1)

    html = alice_client.get("/contacts/", {"q": "ann"}).content.decode()

    assert "More than 1 records match this search" in html
    assert ("Annabel" in html) != ("Annie" in html)
    monkeypatch.setattr(listing, "QUICK_SEARCH_CANDIDATES", 5)
    html = alice_client.get("/contacts/", {"q": "ann"}).content.decode()
    assert "More than" not in html
    assert "Annabel" in html and "Annie" in html
