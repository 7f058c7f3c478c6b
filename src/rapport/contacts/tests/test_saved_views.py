"""Saved views edited in place: rename, share or unshare, and update with the list's
current filters, columns and sort; the rules through the services, the pages through
HTTP."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.core import savedviews
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, SavedView, Source

pytestmark = pytest.mark.django_db

CONTACTS = "contacts.contact"


def actor(user) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_view(user, name: str = "Customers", *, shared: bool = False, **query) -> SavedView:
    return savedviews.saved_view_create(
        actor=actor(user),
        object_type=CONTACTS,
        name=name,
        shared=shared,
        filters=query.get("filters", {"lifecycle_stage": "customer"}),
        columns=query.get("columns", ["email"]),
        sort=query.get("sort", "name"),
    )


def body(response) -> str:
    return response.content.decode()


# The rules ------------------------------------------------------------------------------


def test_the_owner_renames_and_shares_a_view_and_the_audit_keeps_both(alice):
    view = make_view(alice)

    renamed = savedviews.saved_view_update(
        view, actor=actor(alice), name="  Key customers ", shared=True
    )

    renamed.refresh_from_db()
    assert (renamed.name, renamed.shared) == ("Key customers", True)
    assert renamed.filters == {"lifecycle_stage": "customer"}  # untouched
    entry = AuditEntry.objects.filter(action="update", object_id=str(view.pk)).get()
    assert entry.changes["name"] == ["Customers", "Key customers"]
    assert entry.changes["shared"] == [False, True]


def test_updating_the_query_replaces_filters_columns_and_sort_only(alice):
    view = make_view(alice, shared=True)

    savedviews.saved_view_update(
        view,
        actor=actor(alice),
        filters={"tag": ["1", "2"]},
        columns=["phone", "owner"],
        sort="-created_at",
    )

    view.refresh_from_db()
    assert (view.name, view.shared) == ("Customers", True)
    assert view.filters == {"tag": ["1", "2"]}
    assert view.columns == ["phone", "owner"]
    assert view.sort == "-created_at"


def test_an_update_that_changes_nothing_writes_no_audit_entry(alice):
    view = make_view(alice)

    savedviews.saved_view_update(view, actor=actor(alice), name="Customers")

    assert not AuditEntry.objects.filter(action="update").exists()


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_name_is_refused_and_nothing_changes(alice, name):
    view = make_view(alice)

    with pytest.raises(ValidationError) as refused:
        savedviews.saved_view_update(view, actor=actor(alice), name=name, shared=True)

    assert refused.value.message_dict["name"] == ["Give the view a name."]
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Customers", False)


def test_an_owner_cannot_have_two_views_of_a_list_with_one_name(alice, bob):
    make_view(alice, "Customers")
    other = make_view(alice, "Prospects")

    with pytest.raises(ValidationError) as renamed:
        savedviews.saved_view_update(other, actor=actor(alice), name="CUSTOMERS")
    with pytest.raises(ValidationError) as created:
        make_view(alice, "customers")

    assert "already exists" in renamed.value.message_dict["name"][0]
    assert "already exists" in created.value.message_dict["name"][0]
    # Another person, or another list, may use the name.
    assert make_view(bob, "Customers").name == "Customers"
    companies = savedviews.saved_view_create(
        actor=actor(alice),
        object_type="contacts.company",
        name="Customers",
        shared=False,
        filters={},
        columns=[],
    )
    assert companies.name == "Customers"


def test_bad_filters_are_refused(alice):
    view = make_view(alice)

    with pytest.raises(ValidationError) as refused:
        savedviews.saved_view_update(view, actor=actor(alice), filters={"tag": [1, {"x": 2}]})

    assert "filters" in refused.value.message_dict


def test_only_the_owner_changes_a_view_and_an_admin_a_shared_one(alice, bob, admin):
    personal = make_view(alice, "Mine")
    shared = make_view(alice, "Ours", shared=True)

    for view in (personal, shared):
        with pytest.raises(PermissionDenied):
            savedviews.saved_view_update(view, actor=actor(bob), name="Taken over")
    with pytest.raises(PermissionDenied):
        savedviews.saved_view_update(personal, actor=actor(admin), name="Peeked")
    savedviews.saved_view_update(shared, actor=actor(admin), name="Team view")

    personal.refresh_from_db()
    shared.refresh_from_db()
    assert (personal.name, shared.name) == ("Mine", "Team view")
    assert shared.owner == alice


# The pages ------------------------------------------------------------------------------


def edit(client: Client, view: SavedView, *, htmx: bool = False, **data):
    fields = {f"view-{view.pk}-{name}": value for name, value in data.items()}
    headers = {
        "HX-Request": "true",
        "HX-Current-URL": f"http://testserver/contacts/?view={view.pk}",
    }
    return client.post(f"/saved-views/{view.pk}/edit/", fields, headers=headers if htmx else None)


def test_the_menu_offers_edit_only_on_the_views_one_may_change(alice, bob):
    mine = make_view(alice, "Mine")
    theirs = make_view(bob, "Theirs", shared=True)

    html = body(client_for(alice).get("/contacts/"))

    assert f'action="/saved-views/{mine.pk}/edit/"' in html
    assert f'action="/saved-views/{theirs.pk}/edit/"' not in html
    assert "Theirs" in html


def test_renaming_in_place_answers_with_the_updated_menu_entry(alice):
    view = make_view(alice)
    client = client_for(alice)

    response = edit(client, view, htmx=True, name="VIP customers", shared="on")

    assert response.status_code == 200
    html = body(response)
    assert html.startswith('<li class="saved-view"')
    assert "VIP customers" in html and "Shared" in html and "Saved." in html
    assert 'aria-current="true"' in html  # the page behind shows this view
    view.refresh_from_db()
    assert (view.name, view.shared) == ("VIP customers", True)


def test_a_blank_or_duplicate_name_shows_next_to_the_field(alice):
    make_view(alice, "Prospects")
    view = make_view(alice)
    client = client_for(alice)

    blank = body(edit(client, view, htmx=True, name="  "))
    duplicate = body(edit(client, view, htmx=True, name="prospects"))

    assert "Give the view a name." in blank
    assert 'details class="saved-view-edit" open' in blank
    assert "A view named “prospects” already exists." in duplicate
    view.refresh_from_db()
    assert view.name == "Customers"


def test_editing_without_javascript_uses_a_page_of_its_own(alice):
    view = make_view(alice)
    client = client_for(alice)

    page = client.get(f"/saved-views/{view.pk}/edit/")
    invalid = edit(client, view, name="")
    saved = edit(client, view, name="Renamed")

    assert page.status_code == 200 and 'value="Customers"' in body(page)
    assert invalid.status_code == 200 and "Give the view a name." in body(invalid)
    assert saved.status_code == 302
    assert saved["Location"].startswith("/contacts/?")
    assert f"view={view.pk}" in saved["Location"]
    view.refresh_from_db()
    assert view.name == "Renamed"


def test_someone_elses_view_is_a_404_when_personal_and_a_403_when_shared(alice, bob):
    personal = make_view(alice, "Mine")
    shared = make_view(alice, "Ours", shared=True)
    client = client_for(bob)

    assert edit(client, personal, name="x").status_code == 404
    assert edit(client, shared, name="x").status_code == 403
    assert client.post(f"/saved-views/{shared.pk}/update/", {"query": ""}).status_code == 403
    assert client.post(f"/saved-views/{personal.pk}/update/", {"query": ""}).status_code == 404
    assert set(SavedView.objects.values_list("name", flat=True)) == {"Mine", "Ours"}


def test_an_admin_renames_a_shared_view_from_the_page(admin_client, alice):
    shared = make_view(alice, "Ours", shared=True)

    response = edit(admin_client, shared, name="Everyone's", shared="on")

    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.name == "Everyone's"


def test_the_page_offers_to_update_a_view_whose_query_it_no_longer_shows(alice, bob):
    view = make_view(alice, filters={"lifecycle_stage": "customer"}, columns=["email"], sort="name")
    client = client_for(alice)
    same = f"/contacts/?lifecycle_stage=customer&columns=email&sort=name&view={view.pk}"
    other = f"/contacts/?lifecycle_stage=lead&columns=email&columns=phone&sort=-name&view={view.pk}"

    assert f"/saved-views/{view.pk}/update/" not in body(client.get(same))
    changed = body(client.get(other))
    assert f'action="/saved-views/{view.pk}/update/"' in changed
    assert "Update “Customers”" in changed
    # Someone who may not change the view is not offered the button.
    savedviews.saved_view_update(view, actor=actor(alice), shared=True)
    assert f"/saved-views/{view.pk}/update/" not in body(client_for(bob).get(other))


def test_update_the_view_with_the_current_filters_columns_and_sort(alice):
    view = make_view(alice)
    client = client_for(alice)
    query = "lifecycle_stage=lead&lifecycle_stage=customer&columns=phone&sort=-name&q="

    response = client.post(f"/saved-views/{view.pk}/update/", {"query": query}, follow=True)

    view.refresh_from_db()
    assert view.filters == {"lifecycle_stage": ["lead", "customer"]}
    assert view.columns == ["phone"]
    assert view.sort == "-name"
    assert "The view “Customers” is updated." in body(response)
    assert f"/saved-views/{view.pk}/update/" not in body(response)  # nothing differs now
    assert AuditEntry.objects.filter(action="update", object_id=str(view.pk)).exists()


def test_an_update_with_a_malformed_query_changes_nothing(alice):
    view = make_view(alice)

    response = client_for(alice).post(
        f"/saved-views/{view.pk}/update/", {"query": "x" * 5000}, follow=True
    )

    assert "The filters are not valid." in body(response)
    view.refresh_from_db()
    assert view.filters == {"lifecycle_stage": "customer"}


def test_saving_a_second_view_with_the_same_name_says_why(alice):
    make_view(alice)

    response = client_for(alice).post(
        "/contacts/views/", {"name": "Customers", "query": ""}, follow=True
    )

    assert SavedView.objects.count() == 1
    assert "A view named “Customers” already exists." in body(response)


def test_the_menu_costs_the_same_for_one_view_or_ten(alice, bob, django_assert_max_num_queries):
    client = client_for(alice)
    make_view(alice, "View 0")
    with CaptureQueriesContext(connection) as one:
        client.get("/contacts/")
    for number in range(1, 6):
        make_view(alice, f"View {number}")
        make_view(bob, f"Shared {number}", shared=True)

    with django_assert_max_num_queries(len(one)):
        html = body(client.get("/contacts/"))
    assert html.count('class="saved-view"') == 11
