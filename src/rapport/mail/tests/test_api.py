"""The email API through HTTP: send to a contact (from a template or freely), read the
delivery, send a failed one again, and the templates' CRUD; problems for bad input and
404 for what is hidden."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.contacts import services as contacts
from rapport.mail import services
from rapport.mail.models import DeliveryStatus, EmailTemplate, OutgoingEmail

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def errors_by_field(body: dict) -> dict[str | None, str]:
    return {error["field"]: error["message"] for error in body["errors"]}


def send(client: Client, contact, body: dict):
    return client.post(f"{API}/contacts/{contact.pk}/emails", body, "application/json")


# Sending


def test_send_from_a_template_and_follow_the_delivery(
    alice_client, as_alice, ann, smtp_server, django_capture_on_commit_callbacks
):
    template = services.template_create(
        actor=as_alice,
        name="Intro",
        subject="Hi {{ contact.first_name }}",
        body="About {{ company.name }}",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = send(alice_client, ann, {"template": template.pk, "cc": ["x@acme.test"]})

    assert response.status_code == 202, response.content
    email = response.json()
    assert email["subject"] == "Hi Ann" and email["body"] == "About Acme"
    assert email["email_to"] == ["ann@acme.test"] and email["email_cc"] == ["x@acme.test"]
    assert email["template"] == template.pk
    assert email["status"] == "queued"  # delivered once the request's transaction is over
    assert response["Location"] == f"{API}/emails/{email['id']}"
    read = alice_client.get(response["Location"]).json()
    assert read["status"] == "sent" and read["attempts"] == 1 and read["sent_at"]
    assert read["message_id"] == email["message_id"] == smtp_server.messages[0]["Message-ID"]
    activity = alice_client.get(f"{API}/activities/{email['id']}").json()
    assert activity["kind"] == "email" and activity["direction"] == "out"


def test_send_freely_to_another_address_of_the_contact(alice_client, ann):
    response = send(
        alice_client, ann, {"to": "ann.archer@home.test", "subject": "Lunch?", "body": "Friday?"}
    )

    assert response.status_code == 202
    assert response.json()["status"] == "queued"  # delivered after commit, by the worker
    assert response.json()["email_to"] == ["ann.archer@home.test"]


def test_bad_input_is_a_problem_naming_the_fields(alice_client, ann):
    body = assert_problem(
        send(
            alice_client,
            ann,
            {
                "to": "stranger@else.test",
                "cc": ["nope"],
                "subject": "Hi {{ contact.owner.password }}",
                "body": "",
            },
        ),
        422,
    )

    errors = errors_by_field(body)
    assert set(errors) == {"to", "cc", "subject", "body"}
    assert errors["subject"].startswith("Unknown merge fields: contact.owner.password.")
    assert not OutgoingEmail.objects.exists()


def test_do_not_email_is_refused(alice_client, as_alice, ann):
    contacts.contact_update(ann, actor=as_alice, values={"do_not_email": True})

    body = assert_problem(send(alice_client, ann, {"subject": "Hi", "body": "Hi"}), 422)

    assert errors_by_field(body) == {None: "Ann Archer asked not to be emailed."}


def test_a_hidden_contact_or_template_is_not_found(alice_client, ann, wes, bob):
    assert_problem(send(alice_client, wes, {"subject": "Hi", "body": "Hi"}), 404)
    bobs = services.template_create(
        actor=services_actor(bob), name="Bob's", subject="Hi", body="Hi"
    )

    body = assert_problem(send(alice_client, ann, {"template": bobs.pk}), 422)

    assert errors_by_field(body) == {"template": "No such template, or not one you may use."}


def services_actor(user):
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    return Actor(user=user, source=Source.API)


def test_an_email_is_read_only_by_those_who_see_it(alice_client, as_alice, ann, charlie):
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")

    assert alice_client.get(f"{API}/emails/{activity.pk}").json()["status"] == "queued"
    assert_problem(client_for(charlie).get(f"{API}/emails/{activity.pk}"), 404)


def test_retry_a_failed_email(alice_client, as_alice, ann):
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    url = f"{API}/emails/{activity.pk}/retry"
    assert_problem(alice_client.post(url), 422)  # still queued
    OutgoingEmail.objects.filter(pk=activity.pk).update(
        status=DeliveryStatus.FAILED, attempts=5, last_error="Refused"
    )

    response = alice_client.post(url)

    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["last_error"] == ""


# Templates


def test_template_crud(alice_client, alice):
    created = alice_client.post(
        f"{API}/email-templates",
        {"name": "Intro", "subject": "Hi {{ contact.first_name }}", "body": "Hello"},
        "application/json",
    )
    assert created.status_code == 201, created.content
    template = created.json()
    assert template["owner"] == alice.pk and template["shared"] is False
    url = created["Location"]
    assert url == f"{API}/email-templates/{template['id']}"

    patched = alice_client.patch(url, {"name": "Introduction"}, "application/json")
    assert patched.status_code == 200 and patched.json()["name"] == "Introduction"
    assert patched.json()["subject"] == "Hi {{ contact.first_name }}"

    assert alice_client.delete(url).status_code == 204
    assert_problem(alice_client.get(url), 404)


def test_templates_list_mine_and_shared_with_a_cursor(
    alice_client, alice, admin, bob, django_assert_max_num_queries
):
    for number in range(3):
        services.template_create(
            actor=services_actor(alice), name=f"Mine {number}", subject="S", body="B"
        )
    services.template_create(
        actor=services_actor(admin), name="Shared", subject="S", body="B", shared=True
    )
    services.template_create(actor=services_actor(bob), name="Bob's", subject="S", body="B")

    with django_assert_max_num_queries(4):
        first = alice_client.get(f"{API}/email-templates", {"limit": 3}).json()
    second = alice_client.get(
        f"{API}/email-templates", {"limit": 3, "cursor": first["next_cursor"]}
    ).json()

    names = [item["name"] for item in first["items"] + second["items"]]
    assert names == ["Mine 0", "Mine 1", "Mine 2", "Shared"]
    assert second["next_cursor"] is None


def test_template_problems(alice_client, admin):
    body = assert_problem(
        alice_client.post(
            f"{API}/email-templates",
            {"name": "X", "subject": "{% if 1 %}x{% endif %}", "body": "{{ contact.__init__ }}"},
            "application/json",
        ),
        422,
    )
    assert set(errors_by_field(body)) == {"subject", "body"}
    assert_problem(
        alice_client.post(
            f"{API}/email-templates",
            {"name": "X", "subject": "S", "body": "B", "shared": True},
            "application/json",
        ),
        403,
    )
    shared = services.template_create(
        actor=services_actor(admin), name="Shared", subject="S", body="B", shared=True
    )
    assert_problem(
        alice_client.patch(f"{API}/email-templates/{shared.pk}", {"name": "Y"}, "application/json"),
        403,
    )
    assert_problem(alice_client.delete(f"{API}/email-templates/{shared.pk}"), 403)
    assert EmailTemplate.objects.get(pk=shared.pk).name == "Shared"
