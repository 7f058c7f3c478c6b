"""The shared filters and sorts: through ``queries`` (as pages and exports use them) and
through the API."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.utils import timezone

from rapport.contacts import queries, services
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import Source

API = "/api/v1"


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


def names(contacts) -> list[str]:
    return [contact.first_name for contact in contacts]


def contacts_matching(user, params) -> list[str]:
    filterset, ordering = queries.contact_list(user, params)
    return names(filterset.qs.order_by(*ordering))


def define(as_admin, model, key: str, field_type: str, **extra) -> None:
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(model),
        key=key,
        label=key.title(),
        field_type=field_type,
        **extra,
    )


# Filters


def test_text_email_and_phone_filters(alice, as_alice):
    services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada", "job_title": "Data Analyst"},
        emails=[{"email": "ada@acme.com"}],
        phones=[{"number": "+1 202 555 0143"}],
    )
    services.contact_create(
        actor=as_alice, values={"first_name": "Grace", "email": "grace@example.com"}
    )

    assert contacts_matching(alice, {"job_title": "analyst"}) == ["Ada"]
    assert contacts_matching(alice, {"email": "@ACME.com"}) == ["Ada"]
    assert contacts_matching(alice, {"phone": "(202) 555-0143"}) == ["Ada"]
    assert contacts_matching(alice, {"first_name": "gra"}) == ["Grace"]


def test_quick_search(alice, as_alice):
    services.contact_create(actor=as_alice, values={"first_name": "Ada", "last_name": "Lovelace"})
    services.contact_create(actor=as_alice, values={"first_name": "Grace", "last_name": "Hopper"})

    assert contacts_matching(alice, {"q": "love"}) == ["Ada"]
    assert contacts_matching(alice, {"q": '"; DROP TABLE -- 😀 ' * 500}) == []


def test_tag_owner_team_and_list_filters(alice, bob, east, as_alice, as_bob, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP")
    press = services.tag_create(actor=as_admin, name="Press")
    ada = services.contact_create(
        actor=as_alice, values={"first_name": "Ada", "team": east}, tags=[vip, press]
    )
    services.contact_create(actor=as_alice, values={"first_name": "Alan"}, tags=[press])
    services.contact_create(actor=as_bob, values={"first_name": "Barbara"})
    event = services.list_create(actor=as_alice, name="Event")
    services.list_add(event, [ada], actor=as_alice)

    assert contacts_matching(alice, QueryDict(f"tag={vip.pk}&tag={press.pk}")) == ["Ada", "Alan"]
    assert contacts_matching(alice, {"owner": "me"}) == ["Ada", "Alan"]
    assert contacts_matching(alice, {"owner": [str(bob.pk)]}) == ["Barbara"]
    assert contacts_matching(alice, {"team": str(east.pk)}) == ["Ada"]
    assert contacts_matching(alice, {"list": str(event.pk)}) == ["Ada"]


def test_choice_company_and_date_filters(alice, as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada", "lifecycle_stage": "customer", "company": acme},
    )
    old = services.contact_create(
        actor=as_alice, values={"first_name": "Old", "lifecycle_stage": "churned"}
    )
    Contact.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    today = timezone.localdate().isoformat()

    assert contacts_matching(alice, QueryDict("lifecycle_stage=customer&lifecycle_stage=lead")) == [
        "Ada"
    ]
    assert contacts_matching(alice, {"company": str(acme.pk)}) == ["Ada"]
    assert contacts_matching(alice, {"created_after": today}) == ["Ada"]
    assert contacts_matching(alice, {"created_before": today}) == ["Ada", "Old"]
    assert contacts_matching(alice, {"do_not_email": "false"}) == ["Ada", "Old"]


def test_custom_field_filters_are_typed_by_their_definition(alice, as_alice, as_admin):
    define(as_admin, Contact, "score", "integer")
    define(as_admin, Contact, "vip", "boolean")
    define(as_admin, Contact, "sports", "multi_choice", choices=["golf", "tennis", "polo"])
    services.contact_create(
        actor=as_alice,
        values={"first_name": "Ada"},
        custom={"score": 7, "vip": True, "sports": ["golf", "polo"]},
    )
    services.contact_create(
        actor=as_alice, values={"first_name": "Grace"}, custom={"score": 70, "vip": False}
    )

    assert contacts_matching(alice, {"custom__score": "07"}) == ["Ada"]
    assert contacts_matching(alice, {"custom__vip": "yes"}) == ["Ada"]
    assert contacts_matching(alice, {"custom__vip": "no"}) == ["Grace"]
    assert contacts_matching(alice, {"custom__sports": "polo"}) == ["Ada"]


def test_invalid_filters_raise_field_errors(alice, as_admin):
    define(as_admin, Contact, "score", "integer")

    with pytest.raises(queries.InvalidFilters) as error:
        queries.contact_list(
            alice,
            {
                "custom__score": "lots",
                "created_after": "someday",
                "id": "1,x",
                "lifecycle_stage": "alive",
                "sort": "password",
            },
        )

    assert set(error.value.message_dict) == {
        "custom__score",
        "created",
        "id",
        "lifecycle_stage",
        "sort",
    }
    assert error.value.filterset.form.errors


def test_lists_are_scoped(charlie, as_alice):
    services.contact_create(actor=as_alice, values={"first_name": "Ada"})
    services.company_create(actor=as_alice, values={"name": "Acme"})

    assert contacts_matching(charlie, {}) == []
    filterset, _ordering = queries.company_list(charlie, {})
    assert not filterset.qs.exists()


def test_company_filters(alice, as_alice):
    services.company_create(
        actor=as_alice,
        values={"name": "Acme", "domain": "acme.com", "employee_count": 50, "currency": "EUR"},
    )
    services.company_create(actor=as_alice, values={"name": "Globex", "employee_count": 5000})

    def matching(params) -> list[str]:
        filterset, ordering = queries.company_list(alice, params)
        return [company.name for company in filterset.qs.order_by(*ordering)]

    assert matching({"domain": "https://www.acme.com/"}) == ["Acme"]
    assert matching({"employee_count_min": "100"}) == ["Globex"]
    assert matching({"currency": "eur"}) == ["Acme"]
    assert matching({"sort": "-name"}) == ["Globex", "Acme"]


# Sorting and paging through the API


@pytest.fixture
def seven_contacts(as_alice) -> list[Contact]:
    people = [
        ("Ada", "Lovelace"),
        ("Alan", "Turing"),
        ("Grace", "Hopper"),
        ("Barbara", "Liskov"),
        ("Edsger", "Dijkstra"),
        ("Donald", "Knuth"),
        ("Anna", "Lovelace"),
    ]
    return [
        services.contact_create(actor=as_alice, values={"first_name": first, "last_name": last})
        for first, last in people
    ]


def walk(client, url: str) -> list[str]:
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["first_name"] for item in body["items"]]
        url = response.get("Link", "").split(">")[0].lstrip("<")
        pages += 1
        assert pages < 10
    return seen


def test_pagination_walks_every_sort_without_gaps(alice_client, seven_contacts):
    by_name = walk(alice_client, f"{API}/contacts?limit=3&sort=name")
    newest = walk(alice_client, f"{API}/contacts?limit=2&sort=-created_at")
    by_first_desc = walk(alice_client, f"{API}/contacts?limit=4&sort=-first_name")

    assert by_name == ["Edsger", "Grace", "Donald", "Barbara", "Ada", "Anna", "Alan"]
    assert newest == [contact.first_name for contact in reversed(seven_contacts)]
    assert by_first_desc == sorted(by_name, reverse=True)


def test_filters_and_sort_combine_in_the_api(alice_client, seven_contacts):
    response = alice_client.get(f"{API}/contacts?last_name=lovelace&sort=-first_name")

    assert [item["first_name"] for item in response.json()["items"]] == ["Anna", "Ada"]


def test_bad_filters_answer_422_naming_the_parameter(alice_client):
    response = alice_client.get(f"{API}/contacts?sort=password&tag=abc")

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"sort", "tag"}


def test_a_cursor_from_another_sort_is_refused(alice_client, seven_contacts):
    first = alice_client.get(f"{API}/contacts?limit=2&sort=name").json()

    response = alice_client.get(f"{API}/contacts?limit=2&sort=email&cursor={first['next_cursor']}")

    assert response.status_code == 400


def test_list_query_counts_do_not_grow_with_rows(
    alice_client, as_alice, as_admin, django_assert_max_num_queries
):
    vip = services.tag_create(actor=as_admin, name="VIP")
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    for number in range(30):
        services.contact_create(
            actor=as_alice,
            values={"first_name": f"P{number:02}", "company": acme},
            emails=[{"email": f"p{number}@example.com"}],
            phones=[{"number": f"+1202555{number:04}"}],
            addresses=[{"city": "Boston"}],
            tags=[vip],
        )
        services.company_create(
            actor=as_alice, values={"name": f"C{number:02}"}, phones=[{"number": "+12025550143"}]
        )

    # Session, user, the rate limit's counter, role, teams, custom fields, the sensitive
    # custom fields the role hides, the tag filter, the page, five prefetches (tags,
    # emails, phones, addresses, social profiles) and the visible companies.
    with django_assert_max_num_queries(15):
        contacts = alice_client.get(f"{API}/contacts?limit=25&expand=company&tag={vip.pk}")
    with django_assert_max_num_queries(12):
        companies = alice_client.get(f"{API}/companies?limit=25")

    assert len(contacts.json()["items"]) == 25
    assert len(companies.json()["items"]) == 25
    assert Company.objects.count() == 31


def test_sort_by_owner_name_pages_without_gaps(alice, bob, alice_client, as_alice, as_bob):
    bob.first_name, bob.last_name = "Aaron", "Bloggs"
    bob.save()
    for first in ("Kim", "Lee", "Max"):
        services.contact_create(actor=as_alice, values={"first_name": first})
    for first in ("Ned", "Oda"):
        services.contact_create(
            actor=as_bob, values={"first_name": first, "team": alice.teams.get()}
        )
    unowned = services.contact_create(
        actor=as_alice, values={"first_name": "Pia", "team": alice.teams.get()}
    )
    Contact.objects.filter(pk=unowned.pk).update(owner=None)

    by_owner = walk(alice_client, f"{API}/contacts?limit=2&sort=owner")
    by_owner_desc = walk(alice_client, f"{API}/contacts?limit=2&sort=-owner")

    alice_name = str(alice)
    assert alice_name > "Aaron Bloggs"
    assert by_owner == ["Pia", "Ned", "Oda", "Kim", "Lee", "Max"]
    assert by_owner_desc == list(reversed(by_owner))


def test_sort_by_custom_fields_as_numbers_and_text_with_blanks_first(
    alice, alice_client, as_alice, as_admin
):
    define(as_admin, Contact, "score", "integer")
    define(as_admin, Contact, "tier", "text")
    define(as_admin, Contact, "sports", "multi_choice", choices=["golf"])
    for first, custom in [
        ("Ada", {"score": 9, "tier": "gold"}),
        ("Bea", {"score": 10, "tier": "bronze"}),
        ("Cy", {}),
        ("Dee", {"score": -3, "tier": "silver"}),
        ("Eve", {"score": 100}),
    ]:
        services.contact_create(actor=as_alice, values={"first_name": first}, custom=custom)

    assert walk(alice_client, f"{API}/contacts?limit=2&sort=custom.score") == [
        "Cy",
        "Dee",
        "Ada",
        "Bea",
        "Eve",
    ]
    assert walk(alice_client, f"{API}/contacts?limit=2&sort=-custom.score") == [
        "Eve",
        "Bea",
        "Ada",
        "Dee",
        "Cy",
    ]
    assert walk(alice_client, f"{API}/contacts?limit=3&sort=custom.tier") == [
        "Cy",
        "Eve",
        "Bea",
        "Ada",
        "Dee",
    ]
    refused = alice_client.get(f"{API}/contacts?sort=custom.sports")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "sort"


def test_the_list_page_sorts_by_owner_and_custom_columns(alice_client, as_alice, as_admin):
    define(as_admin, Contact, "score", "integer")
    services.contact_create(actor=as_alice, values={"first_name": "Ada"}, custom={"score": 2})
    services.contact_create(actor=as_alice, values={"first_name": "Bea"}, custom={"score": 1})

    html = alice_client.get(
        "/contacts/", {"sort": "-custom.score", "columns": ["name", "owner", "custom.score"]}
    ).content.decode()

    assert html.index("Ada") < html.index("Bea")
    assert "?sort=owner" in html or "sort=owner" in html


def test_every_column_but_tags_sorts_both_ways_on_both_lists(alice_client, as_alice, as_admin):
    from rapport.contacts.columns import available_columns

    define(as_admin, Contact, "since", "date")
    acme = services.company_create(actor=as_alice, values={"name": "Acme", "employee_count": 5})
    services.company_create(actor=as_alice, values={"name": "Bare", "parent": acme})
    services.contact_create(actor=as_alice, values={"first_name": "Ada", "company": acme})
    services.contact_create(actor=as_alice, values={"first_name": "Bo"})

    for model, url in ((Company, "/companies/"), (Contact, "/contacts/")):
        columns = available_columns(model)
        assert [c.key for c in columns if not c.sort] == ["tags"]
        for column in columns:
            for sort in (column.sort, f"-{column.sort}"):
                if column.sort:
                    response = alice_client.get(url, {"sort": sort, "columns": [column.key]})
                    assert response.status_code == 200, (url, sort)


def test_companies_sort_by_employees_with_blanks_first(alice_client, as_alice):
    for name, employees in (("Big", 500), ("None", None), ("Small", 5), ("Mid", 50)):
        services.company_create(actor=as_alice, values={"name": name, "employee_count": employees})

    def walk_names(url: str) -> list[str]:
        seen = []
        while url and len(seen) < 10:
            response = alice_client.get(url)
            seen += [item["name"] for item in response.json()["items"]]
            url = response.get("Link", "").split(">")[0].lstrip("<")
        return seen

    assert walk_names(f"{API}/companies?limit=1&sort=employee_count") == [
        "None",
        "Small",
        "Mid",
        "Big",
    ]
