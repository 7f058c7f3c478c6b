"""Customer 360 pages through HTTP: detail, inline editing, create and edit forms with
the duplicate warning, delete and merge, and who may do what."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Company, Contact, ContactEmail, Phone
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, Source

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


@pytest.fixture
def acme(as_alice) -> Company:
    return services.company_create(
        actor=as_alice,
        values={"name": "Acme", "domain": "acme.test", "industry": "Rockets"},
        phones=[{"number": "+1 202 555 0100"}],
    )


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    return services.contact_create(
        actor=as_alice,
        values={
            "first_name": "Ann",
            "last_name": "Archer",
            "job_title": "Buyer",
            "company": acme,
            "do_not_call": True,
        },
        emails=[{"email": "ann@acme.test"}],
        phones=[{"number": "+1 202 555 0143"}],
    )


@pytest.fixture
def size_field(as_admin):
    return customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="shoe_size",
        label="Shoe size",
        field_type="integer",
    )


def contact_form(**overrides) -> dict[str, str]:
    """A filled contact form as the page posts it, formsets included."""
    data = {
        "first_name": "Nina",
        "last_name": "North",
        "lifecycle_stage": "lead",
        "source": "manual",
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "0",
        "emails-0-email": "nina@north.test",
        "emails-0-kind": "work",
        "phones-TOTAL_FORMS": "1",
        "phones-INITIAL_FORMS": "0",
        "phones-0-number": "",
        "phones-0-kind": "work",
        "addresses-TOTAL_FORMS": "1",
        "addresses-INITIAL_FORMS": "0",
        "addresses-0-kind": "office",
        "social_profiles-TOTAL_FORMS": "0",
        "social_profiles-INITIAL_FORMS": "0",
    }
    return data | overrides


def as_posted(page) -> dict:
    """What the browser would post back from a create or edit page, unchanged."""
    forms = [page.context["form"]]
    for formset in page.context["channels"]:
        forms += [formset.management_form, *formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value
    return data


def company_form(**overrides) -> dict[str, str]:
    data = {
        "name": "Northwind",
        "domain": "northwind.test",
        "lifecycle_stage": "lead",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "0",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "social_profiles-TOTAL_FORMS": "0",
        "social_profiles-INITIAL_FORMS": "0",
    }
    return data | overrides


# Detail pages --------------------------------------------------------------------------


def test_the_contact_page_shows_key_facts_and_links(alice_client, ann, acme):
    html = body(alice_client.get(f"/contacts/{ann.pk}/"))

    assert "<h1>Ann Archer</h1>" in html
    assert 'href="mailto:ann@acme.test"' in html
    assert 'href="tel:+12025550143"' in html
    assert "Do not call" in html
    assert f'href="{acme.get_absolute_url()}"' in html
    assert "Company and work history" in html
    for slot in ("Deals", "Tickets"):
        assert f">{slot}</h2>" in html
    assert "will be listed here" in html


def test_the_company_page_lists_its_contacts_and_subsidiaries(alice_client, as_alice, acme, ann):
    services.company_create(actor=as_alice, values={"name": "Acme Labs", "parent": acme})

    html = body(alice_client.get(f"/companies/{acme.pk}/"))

    assert "<h1>Acme</h1>" in html
    assert 'href="tel:+12025550100"' in html
    assert f'href="{ann.get_absolute_url()}"' in html
    assert "Acme Labs" in html


def test_custom_fields_show_on_the_detail_page(alice_client, as_alice, size_field):
    nina = services.contact_create(
        actor=as_alice, values={"first_name": "Nina"}, custom={"shoe_size": 39}
    )

    html = body(alice_client.get(f"/contacts/{nina.pk}/"))

    assert "Shoe size" in html and ">39<" in html


def test_the_history_tab_lists_changes(alice_client, as_alice, ann):
    services.contact_update(ann, actor=as_alice, values={"job_title": "Head of buying"})

    html = body(alice_client.get(f"/contacts/{ann.pk}/", {"tab": "history"}))

    assert "Head of buying" in html
    assert "Updated" in html


def test_another_teams_records_do_not_exist_for_a_rep(charlie, ann, acme):
    client = client_for(charlie)

    for url in (
        f"/contacts/{ann.pk}/",
        f"/contacts/{ann.pk}/edit/",
        f"/contacts/{ann.pk}/fields/job_title/",
        f"/companies/{acme.pk}/",
        f"/contacts/merge/?a={ann.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/contacts/{ann.pk}/delete/").status_code == 404
    assert Contact.objects.filter(pk=ann.pk).exists()


def test_a_teammate_sees_but_may_not_edit(bob, ann):
    client = client_for(bob)

    page = body(client.get(f"/contacts/{ann.pk}/"))
    assert "Ann Archer" in page
    assert "Edit Job title" not in page
    assert client.get(f"/contacts/{ann.pk}/edit/").status_code == 403
    refused = client.post(
        f"/contacts/{ann.pk}/fields/job_title/", {"job_title": "Boss", "version": ann.version}
    )
    assert refused.status_code == 403
    ann.refresh_from_db()
    assert ann.job_title == "Buyer"


# Inline editing ------------------------------------------------------------------------


def test_inline_edit_shows_a_small_form_then_saves_through_the_service(alice_client, ann):
    form = body(alice_client.get(f"/contacts/{ann.pk}/fields/job_title/", {"edit": "1"}))
    assert 'name="job_title"' in form and 'value="Buyer"' in form
    assert f'name="version" value="{ann.version}"' in form

    saved = alice_client.post(
        f"/contacts/{ann.pk}/fields/job_title/",
        {"job_title": "Head of buying", "version": ann.version},
        HTTP_HX_REQUEST="true",
    )

    html = body(saved)
    assert 'id="field-job_title"' in html and "Head of buying" in html
    assert 'hx-swap-oob="true"' in html  # the header follows
    ann.refresh_from_db()
    assert ann.job_title == "Head of buying"
    assert AuditEntry.objects.filter(object_id=str(ann.pk), action="update").count() == 1


def test_inline_edit_of_a_custom_field_and_of_tags(alice_client, ann, size_field, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP")

    alice_client.post(
        f"/contacts/{ann.pk}/fields/custom_shoe_size/", {"custom_shoe_size": "41", "version": 1}
    )
    ann.refresh_from_db()
    alice_client.post(
        f"/contacts/{ann.pk}/fields/tags/", {"tags": [vip.pk], "version": ann.version}
    )

    ann.refresh_from_db()
    assert ann.custom == {"shoe_size": 41}
    assert list(ann.tags.all()) == [vip]


def test_inline_edit_shows_validation_errors_and_saves_nothing(alice_client, ann, size_field):
    bad_size = body(
        alice_client.post(
            f"/contacts/{ann.pk}/fields/custom_shoe_size/",
            {"custom_shoe_size": "big", "version": ann.version},
        )
    )
    bad_date = body(
        alice_client.post(
            f"/contacts/{ann.pk}/fields/birthday/", {"birthday": "31.02.", "version": ann.version}
        )
    )

    assert "Enter a whole number." in bad_size
    assert 'class="error"' in bad_date
    ann.refresh_from_db()
    assert ann.custom == {} and ann.birthday is None


def test_inline_edit_refuses_a_stale_version(alice_client, as_alice, ann):
    seen = ann.version
    services.contact_update(ann, actor=as_alice, values={"job_title": "Changed meanwhile"})

    html = body(
        alice_client.post(
            f"/contacts/{ann.pk}/fields/job_title/", {"job_title": "Mine", "version": seen}
        )
    )

    assert "Someone else changed this record" in html
    ann.refresh_from_db()
    assert ann.job_title == "Changed meanwhile"


def test_inline_edit_of_an_unknown_field_is_not_found(alice_client, ann):
    assert alice_client.get(f"/contacts/{ann.pk}/fields/password/").status_code == 404
    assert alice_client.get(f"/contacts/{ann.pk}/fields/deleted_at/").status_code == 404


def test_inline_edit_of_a_company_field(alice_client, acme):
    alice_client.post(
        f"/companies/{acme.pk}/fields/industry/", {"industry": "Space", "version": acme.version}
    )

    acme.refresh_from_db()
    assert acme.industry == "Space"


# Create, edit, duplicates --------------------------------------------------------------


def test_create_a_contact_with_emails_phones_and_custom_fields(
    alice_client, alice, acme, size_field
):
    response = alice_client.post(
        "/contacts/new/",
        contact_form(
            company=str(acme.pk),
            **{
                "phones-0-number": "(202) 555-0199",
                "addresses-0-city": "Berlin",
                "addresses-0-country": "DE",
                "custom_shoe_size": "38",
            },
        ),
    )

    nina = Contact.objects.get(first_name="Nina")
    assert response.status_code == 302
    assert response["Location"] == nina.get_absolute_url()
    assert (nina.email, nina.phone, nina.company, nina.owner) == (
        "nina@north.test",
        "+12025550199",
        acme,
        alice,
    )
    assert nina.addresses.get().city == "Berlin"
    assert nina.custom == {"shoe_size": 38}


def test_create_refuses_bad_input_and_saves_nothing(alice_client, size_field):
    response = alice_client.post(
        "/contacts/new/",
        contact_form(
            **{"phones-0-number": "12", "custom_shoe_size": "huge", "emails-0-email": "nope"}
        ),
    )

    html = body(response)
    assert response.status_code == 200
    assert "Enter a valid email address." in html
    assert "Enter a whole number." in html
    assert not Contact.objects.exists()


def test_the_service_names_the_bad_phone_row(alice_client):
    response = alice_client.post("/contacts/new/", contact_form(**{"phones-0-number": "12"}))

    formset = response.context["channels"].formsets[1]
    assert formset.prefix == "phones"
    assert formset.forms[0].errors["number"]
    assert not Contact.objects.exists()


def test_a_contact_needs_a_name_an_email_or_a_phone(alice_client):
    response = alice_client.post(
        "/contacts/new/", contact_form(first_name="", last_name="", **{"emails-0-email": ""})
    )

    assert "Give the contact a name, an email address or a phone number." in body(response)
    assert not Contact.objects.exists()


def test_duplicate_email_warns_with_links_then_creates_on_confirm(alice_client, ann):
    data = contact_form(**{"emails-0-email": "ANN@acme.test"})

    warned = alice_client.post("/contacts/new/", data)

    html = body(warned)
    assert "This may already exist" in html
    assert f'href="{ann.get_absolute_url()}"' in html
    assert Contact.objects.count() == 1

    confirmed = alice_client.post("/contacts/new/", data | {"create_anyway": "1"})
    assert confirmed.status_code == 302
    assert Contact.objects.count() == 2


def test_duplicate_phone_in_another_format_warns(alice_client, ann):
    html = body(
        alice_client.post(
            "/contacts/new/",
            contact_form(**{"emails-0-email": "", "phones-0-number": "202-555-0143"}),
        )
    )

    assert "This may already exist" in html


def test_duplicates_of_another_team_are_not_revealed(charlie, ann):
    html = body(
        client_for(charlie).post("/contacts/new/", contact_form(**{"emails-0-email": ann.email}))
    )

    assert "Ann Archer" not in html


def test_duplicate_domain_warns_on_company_create(alice_client, acme):
    html = body(alice_client.post("/companies/new/", company_form(domain="https://www.acme.test/")))

    assert "This may already exist" in html
    assert Company.objects.count() == 1


def test_create_a_company_with_a_parent_and_tags(alice_client, acme, as_admin):
    vip = services.tag_create(actor=as_admin, name="VIP")

    response = alice_client.post(
        "/companies/new/", company_form(parent=str(acme.pk), tags=[str(vip.pk)])
    )

    northwind = Company.objects.get(name="Northwind")
    assert response.status_code == 302
    assert (northwind.parent, list(northwind.tags.all())) == (acme, [vip])


def test_create_a_company_with_a_bad_currency_says_why(alice_client):
    html = body(alice_client.post("/companies/new/", company_form(currency="EU1")))

    assert "three-letter" in html
    assert not Company.objects.exists()


def test_a_company_form_cannot_pick_another_teams_parent(alice_client, charlie):
    west = services.company_create(
        actor=Actor(user=charlie, source=Source.UI), values={"name": "West"}
    )

    html = body(alice_client.post("/companies/new/", company_form(parent=str(west.pk))))

    assert "Choose a company you can see." in html
    assert not Company.objects.filter(name="Northwind").exists()


def test_edit_a_contact_replaces_its_channels(alice_client, ann):
    page = alice_client.get(f"/contacts/{ann.pk}/edit/")
    assert 'value="ann@acme.test"' in body(page)
    data = as_posted(page) | {
        "last_name": "Archer-Smith",
        "emails-1-email": "ann@home.test",
        "emails-1-kind": "personal",
        "emails-1-is_primary": "on",
        "phones-0-DELETE": "on",
    }
    data.pop("emails-0-is_primary")

    response = alice_client.post(f"/contacts/{ann.pk}/edit/", data)

    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.last_name == "Archer-Smith"
    assert ann.email == "ann@home.test"
    assert sorted(ContactEmail.objects.filter(contact=ann).values_list("email", flat=True)) == [
        "ann@acme.test",
        "ann@home.test",
    ]
    assert not Phone.objects.filter(contact=ann).exists()


def test_edit_with_a_stale_version_keeps_the_other_change(alice_client, as_alice, ann):
    page = alice_client.get(f"/contacts/{ann.pk}/edit/")
    services.contact_update(ann, actor=as_alice, values={"job_title": "Changed meanwhile"})

    html = body(
        alice_client.post(f"/contacts/{ann.pk}/edit/", as_posted(page) | {"first_name": "Mine"})
    )

    assert "Someone else changed this record" in html
    ann.refresh_from_db()
    assert (ann.first_name, ann.job_title) == ("Ann", "Changed meanwhile")


def test_edit_refuses_bad_input_and_changes_nothing(alice_client, ann):
    page = alice_client.get(f"/contacts/{ann.pk}/edit/")

    response = alice_client.post(
        f"/contacts/{ann.pk}/edit/", as_posted(page) | {"phones-0-number": "not a phone"}
    )

    assert response.status_code == 200
    ann.refresh_from_db()
    assert ann.phone == "+12025550143"


def test_the_company_lookup_offers_visible_companies_only(alice_client, charlie, acme):
    services.company_create(
        actor=Actor(user=charlie, source=Source.UI), values={"name": "Acme West"}
    )

    html = body(alice_client.get("/companies/lookup/", {"lookup": "acme"}))

    assert f'value="{acme.pk}"' in html
    assert "Acme West" not in html


def test_delete_moves_to_the_trash(alice_client, ann):
    response = alice_client.post(f"/contacts/{ann.pk}/delete/", follow=True)

    assert "is in the trash" in body(response)
    assert Contact.all_objects.get(pk=ann.pk).is_deleted


def test_only_a_post_deletes(alice_client, ann):
    assert alice_client.get(f"/contacts/{ann.pk}/delete/").status_code == 405


# Merge ---------------------------------------------------------------------------------


@pytest.fixture
def annie(as_alice) -> Contact:
    """Ann again, entered a second time with another job title and her email."""
    return services.contact_create(
        actor=as_alice,
        values={"first_name": "Annie", "last_name": "Archer", "job_title": "Chief buyer"},
        emails=[{"email": "ann@acme.test"}, {"email": "annie@home.test"}],
    )


def test_merge_suggests_likely_duplicates(alice_client, ann, annie):
    html = body(alice_client.get("/contacts/merge/", {"a": ann.pk}))

    assert "Annie Archer" in html
    assert f"?a={ann.pk}&amp;b={annie.pk}" in html


def test_merge_shows_the_differing_fields_side_by_side(alice_client, ann, annie):
    html = body(alice_client.get("/contacts/merge/", {"a": ann.pk, "b": annie.pk}))

    assert "First name" in html and "Job title" in html
    assert "Chief buyer" in html and "Buyer" in html
    assert "Last name" not in html  # the same on both


def test_merge_keeps_the_chosen_values_and_trashes_the_loser(alice_client, ann, annie):
    page = alice_client.get("/contacts/merge/", {"a": ann.pk, "b": annie.pk})
    form = page.context["form"]
    job_title_field = next(
        f"field_{index}" for index, key in enumerate(form.keys) if key == "job_title"
    )
    data = {"a": ann.pk, "b": annie.pk, "winner": ann.pk}
    data |= {f"field_{index}": ann.pk for index in range(len(form.keys))}
    data[job_title_field] = annie.pk

    response = alice_client.post("/contacts/merge/", data, follow=True)

    ann.refresh_from_db()
    assert response.redirect_chain[-1][0] == ann.get_absolute_url()
    assert "Merged" in body(response)
    assert (ann.first_name, ann.job_title) == ("Ann", "Chief buyer")
    assert "annie@home.test" in ann.emails.values_list("email", flat=True)
    assert Contact.all_objects.get(pk=annie.pk).is_deleted
    assert AuditEntry.objects.filter(action="merge", object_id=str(ann.pk)).count() == 1


def test_merge_with_a_record_of_another_team_is_not_found(alice_client, charlie, ann):
    west = services.contact_create(
        actor=Actor(user=charlie, source=Source.UI), values={"first_name": "Wes"}
    )

    assert alice_client.get("/contacts/merge/", {"a": ann.pk, "b": west.pk}).status_code == 404


def test_merge_of_a_record_with_itself_is_refused(alice_client, ann):
    response = alice_client.get("/contacts/merge/", {"a": ann.pk, "b": ann.pk}, follow=True)

    assert "Choose two different records" in body(response)


def test_merge_of_companies_moves_their_contacts(alice_client, as_alice, acme, ann):
    acme_inc = services.company_create(actor=as_alice, values={"name": "Acme Inc"})
    data = {"a": acme_inc.pk, "b": acme.pk, "winner": acme_inc.pk}

    alice_client.post("/companies/merge/", data)

    ann.refresh_from_db()
    assert ann.company == acme_inc
    assert Company.all_objects.get(pk=acme.pk).is_deleted


def test_a_teammate_may_not_merge_alices_records(bob, ann, annie):
    client = client_for(bob)

    response = client.post("/contacts/merge/", {"a": ann.pk, "b": annie.pk, "winner": ann.pk})

    assert response.status_code == 403
    assert not Contact.all_objects.get(pk=annie.pk).is_deleted


def test_add_a_contact_from_the_company_page_fills_in_the_company(alice_client, acme):
    page = body(alice_client.get(f"/companies/{acme.pk}/"))
    assert f'href="/contacts/new/?company={acme.pk}"' in page

    form = body(alice_client.get("/contacts/new/", {"company": acme.pk}))

    assert f'<option value="{acme.pk}" selected>Acme</option>' in form
