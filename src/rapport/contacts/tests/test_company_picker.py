"""The company picker of the list filters through HTTP: suggestions scoped to what the
user may see, limited and escaped; chosen companies shown by name in one query; the
query string still carrying ids."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts import services
from rapport.contacts.forms import LOOKUP_LIMIT
from rapport.contacts.models import Company
from rapport.core.actors import Actor
from rapport.core.models import Source

pytestmark = pytest.mark.django_db


def actor(user) -> Actor:
    return Actor(user=user, source=Source.UI)


def body(response) -> str:
    return response.content.decode()


def company(user, name: str, **values) -> Company:
    return services.company_create(actor=actor(user), values={"name": name, **values})


def suggest(client: Client, text: str):
    return client.get("/companies/suggest/", {"lookup": text})


def test_suggestions_are_the_visible_companies_matching_the_name(alice_client, alice, charlie):
    acme = company(alice, "Acme Rockets", domain="acme.test")
    company(charlie, "Acme West")  # another team's
    company(alice, "Globex")

    response = suggest(alice_client, "acme")

    assert response.status_code == 200
    html = body(response)
    assert f'data-company-id="{acme.pk}"' in html
    assert 'role="option"' in html and "acme.test" in html
    assert "Acme West" not in html and "Globex" not in html


def test_suggestions_say_when_nothing_matches_and_wait_for_text(alice_client, alice):
    company(alice, "Acme")

    none = body(suggest(alice_client, "Zyzzyva"))
    empty = body(suggest(alice_client, "  "))

    assert "No company matches." in none
    assert "data-company-id" not in none
    assert 'role="option"' not in empty


def test_suggestions_escape_names(alice_client, alice):
    company(alice, '<img src=x onerror="alert(1)"> Evil')

    html = body(suggest(alice_client, "evil"))

    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Evil" in html


def test_suggestions_are_limited_and_cost_the_same_however_many_match(
    alice_client, alice, django_assert_max_num_queries
):
    company(alice, "Acme One")
    with CaptureQueriesContext(connection) as one:
        suggest(alice_client, "acme")
    for number in range(30):
        company(alice, f"Acme {number}")

    with django_assert_max_num_queries(len(one)):
        html = body(suggest(alice_client, "acme"))
    assert html.count("data-company-id=") == LOOKUP_LIMIT


def test_suggestions_need_a_signed_in_user(client):
    response = suggest(client, "acme")

    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def test_the_filter_panel_shows_chosen_companies_as_named_chips(alice_client, alice, charlie):
    acme = company(alice, "Acme & Sons")
    hidden = company(charlie, "Westwind")

    html = body(
        alice_client.get("/contacts/", {"company": [acme.pk, hidden.pk], "panel": "filters"})
    )

    assert "data-company-picker" in html
    assert f'<input type="hidden" name="company" value="{acme.pk}">' in html
    assert "Acme &amp; Sons" in html
    # A company the user may not see keeps its chip, by number only.
    assert f"Company #{hidden.pk}" in html and "Westwind" not in html
    assert '<label for="id_company">Company:</label>' in html
    assert 'role="combobox"' in html
    assert 'hx-get="/companies/suggest/"' in html


def test_chosen_companies_cost_one_query_however_many(
    alice_client, alice, django_assert_max_num_queries
):
    companies = [company(alice, f"Firm {number}") for number in range(12)]
    with CaptureQueriesContext(connection) as one:
        alice_client.get("/contacts/", {"company": [companies[0].pk], "panel": "filters"})

    with django_assert_max_num_queries(len(one)):
        html = body(
            alice_client.get(
                "/contacts/", {"company": [c.pk for c in companies], "panel": "filters"}
            )
        )
    assert all(f"Firm {number}" in html for number in range(12))


def test_the_query_string_keeps_ids_repeated_or_comma_separated(alice_client, alice, as_alice):
    acme = company(alice, "Acme")
    globex = company(alice, "Globex")
    services.contact_create(actor=as_alice, values={"first_name": "Ann", "company": acme})
    services.contact_create(actor=as_alice, values={"first_name": "Gus", "company": globex})
    services.contact_create(actor=as_alice, values={"first_name": "Nobody"})

    def rows_and_panel(params: dict) -> str:
        page = body(alice_client.get("/contacts/", params))
        return page + body(alice_client.get("/contacts/", params | {"panel": "filters"}))

    repeated = rows_and_panel({"company": [acme.pk, globex.pk]})
    commas = rows_and_panel({"company": f"{acme.pk},{globex.pk}"})
    one = rows_and_panel({"company": acme.pk})

    for html in (repeated, commas):
        assert "Ann" in html and "Gus" in html and "Nobody" not in html
    assert "Ann" in one and "Gus" not in one
    # One chip per id.
    assert f'name="company" value="{acme.pk}"' in commas
    assert f'name="company" value="{globex.pk}"' in commas


def test_a_bad_id_is_explained_next_to_the_picker(alice_client, alice):
    html = body(alice_client.get("/contacts/", {"company": "acme"}))

    assert "Enter ids (whole numbers) separated by commas." in html
    assert "data-company-picker" in html


def test_the_company_list_picks_parent_companies(alice_client, alice):
    holding = company(alice, "Holding")
    company(alice, "Subsidiary", parent=holding)
    company(alice, "Independent")

    rows = body(alice_client.get("/companies/", {"parent": holding.pk}))
    html = body(alice_client.get("/companies/", {"parent": holding.pk, "panel": "filters"}))

    assert "Subsidiary" in rows and "Independent" not in rows
    assert f'<input type="hidden" name="parent" value="{holding.pk}">' in html
    assert '<label for="id_parent">Parent company:</label>' in html


def test_a_saved_view_keeps_the_chosen_ids(alice_client, alice):
    acme = company(alice, "Acme")

    response = alice_client.post(
        "/contacts/views/", {"name": "Acme people", "query": f"company={acme.pk}"}
    )
    opened = body(alice_client.get(response["Location"] + "&panel=filters"))

    assert f'<input type="hidden" name="company" value="{acme.pk}">' in opened
