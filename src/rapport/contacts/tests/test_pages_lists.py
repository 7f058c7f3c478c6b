"""The company and contact list pages through HTTP: scope, columns, sort, filters, quick
search, keyset pages, saved views, bulk actions and the CSV export."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.conftest import make_user
from rapport.contacts import services
from rapport.contacts.models import Company, Contact, StaticList
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, Job, JobStatus, SavedView, Source

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def actor(user) -> Actor:
    return Actor(user=user, source=Source.UI)


def add_contact(user, first: str, last: str, **values) -> Contact:
    email = values.pop("email", f"{first.lower()}.{last.lower()}@example.com")
    return services.contact_create(
        actor=actor(user),
        values={"first_name": first, "last_name": last, **values},
        emails=[{"email": email}],
    )


@pytest.fixture
def people(alice, bob, charlie) -> dict[str, Contact]:
    """Alice's and Bob's contacts (team East) and Charlie's (team West)."""
    return {
        "ann": add_contact(alice, "Ann", "Archer", lifecycle_stage="customer"),
        "ben": add_contact(bob, "Ben", "Baker"),
        "cid": add_contact(charlie, "Cid", "Carter", lifecycle_stage="customer"),
    }


@pytest.fixture
def vip(as_admin):
    return services.tag_create(actor=as_admin, name="VIP", color="#d97706")


@pytest.fixture
def tier_field(as_admin):
    return customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="tier",
        label="Loyalty tier",
        field_type="choice",
        choices=["gold", "silver"],
    )


def body(response) -> str:
    return response.content.decode()


# Scope, columns, sort ----------------------------------------------------------------


def test_a_rep_lists_the_contacts_of_their_team_only(alice_client, people):
    page = alice_client.get("/contacts/")

    assert page.status_code == 200
    html = body(page)
    assert "Ann Archer" in html and "Ben Baker" in html
    assert "Cid Carter" not in html
    assert "2 contacts" in html


def test_a_rep_lists_the_companies_of_their_team_only(alice_client, as_alice, charlie):
    services.company_create(actor=as_alice, values={"name": "Acme"})
    services.company_create(actor=actor(charlie), values={"name": "Westwind"})

    html = body(alice_client.get("/companies/"))

    assert "Acme" in html
    assert "Westwind" not in html


def test_default_columns_link_names_emails_and_phones(alice_client, as_alice):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    ann = services.contact_create(
        actor=as_alice,
        values={"first_name": "Ann", "company": acme},
        emails=[{"email": "ann@acme.test"}],
        phones=[{"number": "+1 202 555 0143"}],
    )

    html = body(alice_client.get("/contacts/"))

    assert f'href="{ann.get_absolute_url()}"' in html
    assert 'href="mailto:ann@acme.test"' in html
    assert 'href="tel:+12025550143"' in html
    assert f'href="{acme.get_absolute_url()}"' in html


def test_chosen_columns_include_custom_fields_and_always_the_name(
    alice_client, as_alice, tier_field
):
    services.contact_create(
        actor=as_alice,
        values={"first_name": "Ann", "job_title": "Buyer"},
        custom={"tier": "gold"},
    )

    html = body(alice_client.get("/contacts/", {"columns": ["job_title", "custom.tier"]}))

    header = html[html.index("<thead>") : html.index("</thead>")]
    assert "Name" in header and "Job title" in header and "Loyalty tier" in header
    assert "Email" not in header
    assert ">gold<" in html and ">Buyer<" in html


def test_sorting_by_a_column_header(alice_client, people):
    ascending = body(alice_client.get("/contacts/", {"sort": "name"}))
    descending = body(alice_client.get("/contacts/", {"sort": "-name"}))

    assert ascending.index("Ann Archer") < ascending.index("Ben Baker")
    assert descending.index("Ben Baker") < descending.index("Ann Archer")
    assert 'aria-sort="descending"' in descending
    assert "sort=name" in descending  # the header link turns the order around


def test_an_unknown_sort_or_bad_filter_is_explained_not_an_error(alice_client, people):
    unknown_sort = alice_client.get("/contacts/", {"sort": "password"})
    bad_date = alice_client.get("/contacts/", {"created_after": "yesterday-ish"})

    assert unknown_sort.status_code == 200
    assert "Sort by one of" in body(unknown_sort)
    assert "Ann Archer" not in body(unknown_sort)
    assert bad_date.status_code == 200
    assert "Some filters are not valid" in body(bad_date)


# Filters and quick search --------------------------------------------------------------


def test_filter_by_lifecycle_stage_owner_me_and_tag(alice_client, alice, people, vip):
    services.bulk_tag([people["ben"]], actor=actor(people["ben"].owner), tag=vip, add=True)

    customers = body(alice_client.get("/contacts/", {"lifecycle_stage": "customer"}))
    mine = body(alice_client.get("/contacts/", {"owner": "me"}))
    tagged = body(alice_client.get("/contacts/", {"tag": vip.pk}))

    assert "Ann Archer" in customers and "Ben Baker" not in customers
    assert "Ann Archer" in mine and "Ben Baker" not in mine
    assert "Ben Baker" in tagged and "Ann Archer" not in tagged


def test_filter_by_list_and_date_range(alice_client, as_alice, people):
    invitees = services.list_create(actor=as_alice, name="Invitees")
    services.list_add(invitees, [people["ann"]], actor=as_alice)

    on_list = body(alice_client.get("/contacts/", {"list": invitees.pk}))
    future = body(alice_client.get("/contacts/", {"created_after": "2999-01-01"}))

    assert "Ann Archer" in on_list and "Ben Baker" not in on_list
    assert "No contact matches these filters." in future


def test_quick_search_finds_by_name_within_scope(alice_client, people):
    html = body(alice_client.get("/contacts/", {"q": "arch"}))

    assert "Ann Archer" in html
    assert "Ben Baker" not in html
    assert "Carter" not in body(alice_client.get("/contacts/", {"q": "carter"}))


def test_quick_search_survives_operators_quotes_and_long_text(alice_client, people):
    for text in ['"ann', "ann OR *", "NEAR(", "🙂", "x" * 10_000]:
        assert alice_client.get("/contacts/", {"q": text}).status_code == 200


# Pages and query counts ----------------------------------------------------------------


def test_keyset_pages_show_50_plus_and_a_next_page(alice_client, as_alice):
    for number in range(60):
        services.contact_create(actor=as_alice, values={"first_name": f"P{number:02}"})

    first = alice_client.get("/contacts/", {"sort": "first_name"})
    html = body(first)
    assert "50+ contacts" in html
    assert html.count('data-row-select aria-label="Select P') == 50
    next_url = first.context["page"].next_cursor
    second = body(alice_client.get("/contacts/", {"sort": "first_name", "cursor": next_url}))
    assert second.count('data-row-select aria-label="Select P') == 10
    assert "P59" in second and "P00" not in second


def test_a_forged_cursor_is_a_bad_request(alice_client, people):
    assert alice_client.get("/contacts/", {"cursor": "forged"}).status_code == 400


def _queries_for(client: Client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_the_contact_list_costs_the_same_for_one_row_or_sixty(
    alice_client, as_alice, as_admin, vip, tier_field, django_assert_max_num_queries
):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    params = {"columns": ["company", "owner", "tags", "email", "custom.tier"]}
    services.contact_create(actor=as_alice, values={"first_name": "One", "company": acme})
    one_row = _queries_for(alice_client, "/contacts/", params)
    for number in range(59):
        services.contact_create(
            actor=as_alice,
            values={"first_name": f"P{number}", "company": acme},
            tags=[vip],
            custom={"tier": "gold"},
        )

    with django_assert_max_num_queries(one_row):
        page = alice_client.get("/contacts/", params)
    assert body(page).count("data-row-select ") == 50


def test_the_company_list_costs_the_same_for_one_row_or_sixty(
    alice_client, as_alice, vip, django_assert_max_num_queries
):
    holding = services.company_create(actor=as_alice, values={"name": "Holding"})
    params = {"columns": ["parent", "owner", "tags", "domain"]}
    one_row = _queries_for(alice_client, "/companies/", params)
    for number in range(59):
        services.company_create(
            actor=as_alice, values={"name": f"Sub {number}", "parent": holding}, tags=[vip]
        )

    with django_assert_max_num_queries(one_row):
        page = alice_client.get("/companies/", params)
    assert body(page).count("data-row-select ") == 50


# Saved views ---------------------------------------------------------------------------


def test_save_a_view_and_open_it_from_the_menu(alice_client, alice, people):
    query = "lifecycle_stage=customer&columns=email&columns=job_title&sort=-name"

    response = alice_client.post(
        "/contacts/views/", {"name": "My customers", "shared": "", "query": query}
    )

    view = SavedView.objects.get(name="My customers")
    assert (view.owner, view.object_type, view.shared) == (alice, "contacts.contact", False)
    assert view.filters == {"lifecycle_stage": "customer"}
    assert view.columns == ["email", "job_title"]
    assert view.sort == "-name"
    assert response.status_code == 302
    opened = alice_client.get(response["Location"])
    html = body(opened)
    assert "My customers" in html
    assert "Ann Archer" in html and "Ben Baker" not in html
    assert 'aria-sort="descending"' in html


def test_shared_views_reach_everyone_personal_ones_only_their_owner(
    alice_client, bob, charlie, people
):
    alice_client.post("/contacts/views/", {"name": "Shared one", "shared": "on", "query": ""})
    alice_client.post("/contacts/views/", {"name": "Private one", "query": ""})

    for user in (bob, charlie):
        html = body(client_for(user).get("/contacts/"))
        assert "Shared one" in html
        assert "Private one" not in html


def test_only_the_owner_deletes_a_saved_view(alice_client, bob, people):
    alice_client.post("/contacts/views/", {"name": "Shared one", "shared": "on", "query": ""})
    view = SavedView.objects.get()

    assert client_for(bob).post(f"/saved-views/{view.pk}/delete/").status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert alice_client.post(f"/saved-views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_view_without_a_name_is_not_saved(alice_client, people):
    response = alice_client.post("/contacts/views/", {"name": "  ", "query": ""}, follow=True)

    assert not SavedView.objects.exists()
    assert "Give the view a name" in body(response)


# Bulk actions --------------------------------------------------------------------------


def bulk(client: Client, url: str = "/contacts/bulk/", **data):
    return client.post(url, data, follow=True)


def test_bulk_assign_owner_reports_each_refusal(alice_client, bob, people):
    ann, ben = people["ann"], people["ben"]

    response = bulk(alice_client, action="assign_owner", ids=[ann.pk, ben.pk], owner=bob.pk)

    ann.refresh_from_db()
    ben.refresh_from_db()
    assert ann.owner == bob
    assert ben.owner == bob  # Ben was Bob's already: Alice may not edit him, nothing changed
    html = body(response)
    assert "1 record reassigned." in html
    assert "Ben Baker: You may not change this record." in html


def test_bulk_add_and_remove_a_tag(alice_client, people, vip):
    ann = people["ann"]

    added = bulk(alice_client, action="add_tag", ids=[ann.pk], tag=vip.pk)
    assert list(ann.tags.all()) == [vip]
    assert "Tag added to 1 record." in body(added)

    bulk(alice_client, action="remove_tag", ids=[ann.pk], tag=vip.pk)
    assert list(ann.tags.all()) == []


def test_bulk_add_to_list(alice_client, as_alice, people):
    invitees = services.list_create(actor=as_alice, name="Invitees")

    response = bulk(
        alice_client, action="add_to_list", ids=[people["ann"].pk], static_list=invitees.pk
    )

    assert list(invitees.members.all()) == [people["ann"]]
    assert "1 contact added to the list." in body(response)


def test_bulk_delete_moves_to_the_trash_what_the_rep_may_delete(alice_client, people):
    ann, ben = people["ann"], people["ben"]

    response = bulk(alice_client, action="delete", ids=[ann.pk, ben.pk])

    assert not Contact.objects.filter(pk=ann.pk).exists()
    assert Contact.all_objects.get(pk=ann.pk).is_deleted
    assert Contact.objects.filter(pk=ben.pk).exists()
    assert "1 record was not changed" in body(response)


def test_bulk_ignores_ids_the_user_cannot_see(alice_client, people):
    cid = people["cid"]

    bulk(alice_client, action="delete", ids=[cid.pk])

    assert Contact.objects.filter(pk=cid.pk).exists()


def test_bulk_without_a_selection_or_choice_changes_nothing(alice_client, people, vip):
    no_rows = bulk(alice_client, action="delete")
    no_tag = bulk(alice_client, action="add_tag", ids=[people["ann"].pk])
    unknown = bulk(alice_client, action="launch_rockets", ids=[people["ann"].pk])

    assert "Select at least one row." in body(no_rows)
    assert "Choose one for this action." in body(no_tag)
    assert unknown.status_code == 200
    assert Contact.objects.count() == 3
    assert not people["ann"].tags.exists()


def test_bulk_merge_of_two_rows_opens_the_merge_page(alice_client, people):
    ann, ben = people["ann"], people["ben"]

    response = alice_client.post("/contacts/bulk/", {"action": "merge", "ids": [ann.pk, ben.pk]})

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/merge/?a={ann.pk}&b={ben.pk}"


def test_bulk_actions_on_companies(alice_client, as_alice, bob, vip):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})

    bulk(alice_client, "/companies/bulk/", action="add_tag", ids=[acme.pk], tag=vip.pk)
    bulk(alice_client, "/companies/bulk/", action="assign_owner", ids=[acme.pk], owner=bob.pk)

    acme.refresh_from_db()
    assert list(acme.tags.all()) == [vip]
    assert acme.owner == bob
    # Companies are not put on lists.
    assert "add_to_list" not in body(alice_client.get("/companies/"))


# Export --------------------------------------------------------------------------------


def exported(job: Job) -> list[dict[str, str]]:
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    with job.result_file.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode())))


def start_export(client: Client, django_capture_on_commit_callbacks, **data) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/contacts/bulk/", {"action": "export", **data})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    return job


def test_export_the_selected_rows_with_the_page_columns(
    alice_client, people, django_capture_on_commit_callbacks
):
    job = start_export(
        alice_client,
        django_capture_on_commit_callbacks,
        ids=[people["ann"].pk],
        scope="selected",
        query="columns=email&columns=lifecycle_stage",
    )

    assert exported(job) == [
        {"Name": "Ann Archer", "Email": "ann.archer@example.com", "Lifecycle stage": "Customer"}
    ]
    assert "1 contact exported." in job.message


def test_export_as_xlsx_and_json_lines(alice_client, people, django_capture_on_commit_callbacks):
    from rapport.contacts.services import contact_update

    contact_update(
        people["ann"],
        actor=Actor(user=people["ann"].owner, source=Source.UI),
        values={"job_title": "=HYPERLINK(1)"},
    )
    data = {
        "ids": [people["ann"].pk],
        "scope": "selected",
        "query": "columns=email&columns=job_title",
    }
    xlsx = start_export(
        alice_client, django_capture_on_commit_callbacks, export_format="xlsx", **data
    )
    xlsx.refresh_from_db()
    assert xlsx.result_file.name.endswith(".xlsx")
    with xlsx.result_file.open("rb") as handle:
        sheet = openpyxl.load_workbook(handle, read_only=True).worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows == [
        ["Name", "Email", "Job title"],
        ["Ann Archer", "ann.archer@example.com", "'=HYPERLINK(1)"],
    ]
    Job.objects.all().delete()
    jsonl = start_export(
        alice_client, django_capture_on_commit_callbacks, export_format="jsonl", **data
    )
    jsonl.refresh_from_db()
    with jsonl.result_file.open("rb") as handle:
        lines = handle.read().decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"name": "Ann Archer", "email": "ann.archer@example.com", "job_title": "=HYPERLINK(1)"}
    ]


def test_export_of_all_filtered_rows_holds_only_what_the_rep_may_export(
    alice_client, as_alice, people, django_capture_on_commit_callbacks
):
    add_contact(people["ann"].owner, "Amy", "Adams", lifecycle_stage="customer")

    job = start_export(
        alice_client,
        django_capture_on_commit_callbacks,
        scope="filtered",
        query="lifecycle_stage=customer",
    )

    names = sorted(row["Name"] for row in exported(job))
    # Cid is another team's; Ben is a teammate's, which a rep sees but may not export.
    assert names == ["Amy Adams", "Ann Archer"]


def test_an_export_page_shows_its_progress(
    alice_client, people, django_capture_on_commit_callbacks
):
    job = start_export(
        alice_client,
        django_capture_on_commit_callbacks,
        ids=[people["ann"].pk],
        scope="selected",
        query="",
    )

    html = body(alice_client.get(f"/jobs/{job.pk}/"))
    assert "<progress" in html
    assert "Download" in html


def test_the_trash_and_the_audit_record_bulk_deletes(alice_client, people):
    bulk(alice_client, action="delete", ids=[people["ann"].pk])

    assert AuditEntry.objects.filter(action="delete", object_id=str(people["ann"].pk)).exists()


def test_static_lists_are_scoped_in_the_bulk_form(alice_client, charlie, people):
    hidden = services.list_create(actor=actor(charlie), name="West only")

    html = body(alice_client.get("/contacts/"))

    assert "West only" not in html
    assert StaticList.objects.filter(pk=hidden.pk).exists()


def test_company_list_shows_50_plus(alice_client, as_alice):
    Company.objects.bulk_create(
        Company(name=f"C{number:02}", owner=as_alice.user) for number in range(51)
    )

    assert "50+ companies" in body(alice_client.get("/companies/"))


def test_export_companies_with_tags(
    alice_client, as_alice, vip, django_capture_on_commit_callbacks
):
    services.company_create(
        actor=as_alice, values={"name": "=Acme", "domain": "acme.test"}, tags=[vip]
    )

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            "/companies/bulk/",
            {"action": "export", "scope": "filtered", "query": "columns=tags"},
        )

    rows = exported(Job.objects.get())
    # A leading "=" is written so that a spreadsheet does not run it as a formula.
    assert rows == [{"Name": "'=Acme", "Tags": "VIP"}]


def test_a_role_without_export_cannot_start_one(people):
    agent = make_user("agent@example.com", role_slug="support-agent")

    response = client_for(agent).post(
        "/contacts/bulk/", {"action": "export", "scope": "filtered", "query": ""}
    )

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_an_export_with_bad_filters_fails_with_the_reason(
    alice_client, people, django_capture_on_commit_callbacks
):
    job = start_export(
        alice_client,
        django_capture_on_commit_callbacks,
        scope="filtered",
        query="sort=password",
    )

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Sort by one of" in job.message
    assert not job.result_file


def test_the_filter_panel_loads_when_opened_with_the_current_values(alice_client, people):
    page = body(alice_client.get("/contacts/", {"job_title": "engineer", "sort": "-name"}))
    panel = body(
        alice_client.get(
            "/contacts/", {"job_title": "engineer", "sort": "-name", "panel": "filters"}
        )
    )

    assert 'name="job_title"' not in page
    assert "panel=filters" in page and "job_title=engineer" in page
    assert 'name="job_title"' in panel and 'value="engineer"' in panel
    assert "<table" not in panel
