"""Global search over HTTP: the search page, the header type-ahead and /api/v1/search."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.test_search import HOSTILE_QUERIES, actor_for
from rapport.core.search import registrations


@pytest.fixture
def records(as_alice, charlie) -> dict[str, Company | Contact]:
    acme = services.company_create(
        actor=as_alice, values={"name": "Acme Rockets", "domain": "acme-rockets.example"}
    )
    annabel = services.contact_create(
        actor=as_alice,
        values={"first_name": "Annabel", "last_name": "Johnson", "company": acme},
        emails=[{"email": "annabel.johnson@acme-rockets.example"}],
        phones=[{"number": "+4930123456"}],
    )
    west = services.contact_create(
        actor=actor_for(charlie), values={"first_name": "Annabel", "last_name": "Westwood"}
    )
    return {"acme": acme, "annabel": annabel, "west": west}


def suggestions(client: Client, query: str) -> str:
    response = client.get("/search/", {"q": query, "partial": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_search_page_groups_records_before_people(alice_client, records):
    html = alice_client.get("/search/", {"q": "annabel"}).content.decode()

    assert html.index("Contacts") < html.index("Annabel Johnson")
    assert records["annabel"].get_absolute_url() in html
    assert "Westwood" not in html


@pytest.mark.django_db
def test_the_type_ahead_lists_grouped_options_and_a_link_to_all_results(alice_client, records):
    html = suggestions(alice_client, "acme")

    assert "<html" not in html
    assert 'role="listbox"' in html
    assert html.index("Contacts") < html.index("Annabel Johnson") < html.index("Companies")
    assert html.index("Companies") < html.index("Acme Rockets</span>")
    url = records["annabel"].get_absolute_url()
    assert f'role="option" aria-selected="false" id="search-option-1-1" href="{url}"' in html
    assert "/search/?q=acme" in html


@pytest.mark.django_db
def test_the_type_ahead_finds_a_phone_in_another_format(alice_client, records):
    assert "Annabel Johnson" in suggestions(alice_client, "030 1234 56")


@pytest.mark.django_db
def test_the_type_ahead_says_when_nothing_matches_and_stays_empty_when_too_short(
    alice_client, records
):
    assert "Nothing matches" in suggestions(alice_client, "zzzzqqq")
    assert suggestions(alice_client, "a").strip() == ""
    assert suggestions(alice_client, "").strip() == ""


@pytest.mark.django_db
def test_the_header_box_asks_for_suggestions_as_you_type(alice_client):
    html = alice_client.get("/").content.decode()

    assert 'hx-get="/search/"' in html
    assert 'hx-trigger="input changed delay:200ms, search"' in html
    assert 'aria-controls="global-search-suggestions"' in html
    assert 'id="global-search-suggestions"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_answer_200_on_the_page_the_type_ahead_and_the_api(
    alice_client, records, query
):
    page = alice_client.get("/search/", {"q": query})
    partial = alice_client.get("/search/", {"q": query, "partial": "1"})
    api = alice_client.get("/api/v1/search", {"q": query})

    assert (page.status_code, partial.status_code, api.status_code) == (200, 200, 200)
    assert isinstance(api.json()["groups"], list)


@pytest.mark.django_db
def test_the_search_page_stays_within_a_fixed_number_of_queries(
    alice_client, as_alice, records, django_assert_max_num_queries
):
    for number in range(20):
        services.contact_create(
            actor=as_alice, values={"first_name": f"Annabel{number}", "company": records["acme"]}
        )

    # The search page's queries: one per searchable type (companies, contacts, activities,
    # products, deals…), and a fixed few (the session, the user, the bell's unread count,
    # the sensitive custom fields the reader's role hides…).
    with django_assert_max_num_queries(len(registrations()) + 8):
        html = alice_client.get("/search/", {"q": "annabel"}).content.decode()
    assert html.count("Annabel") >= 10


@pytest.mark.django_db
def test_the_api_answers_grouped_hits_of_visible_records(alice_client, records):
    response = alice_client.get("/api/v1/search", {"q": "annabel", "limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "annabel"
    assert body["groups"] == [
        {
            "key": "contacts.contact",
            "label": "Contacts",
            "hits": [
                {
                    "object_type": "contacts.contact",
                    "id": records["annabel"].pk,
                    "title": "Annabel Johnson",
                    "subtitle": "Acme Rockets · annabel.johnson@acme-rockets.example",
                    "url": records["annabel"].get_absolute_url(),
                }
            ],
        }
    ]


@pytest.mark.django_db
def test_the_api_tolerates_typos_and_checks_its_limit(alice_client, records):
    body = alice_client.get("/api/v1/search", {"q": "Jhonson"}).json()
    assert [hit["title"] for hit in body["groups"][0]["hits"]] == ["Annabel Johnson"]

    assert alice_client.get("/api/v1/search", {"q": "x", "limit": 0}).status_code == 422


@pytest.mark.django_db
def test_the_api_needs_authentication(records):
    response = Client().get("/api/v1/search", {"q": "annabel"})

    assert response.status_code == 401
