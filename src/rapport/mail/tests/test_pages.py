"""The compose page of a contact, the "Send email" button that leads to it, and the
delivery status on the timeline."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.activities.models import Activity
from rapport.activities.tests.factories import log_note
from rapport.contacts import services as contacts
from rapport.mail import services
from rapport.mail.models import DeliveryStatus, OutgoingEmail

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def compose_url(contact) -> str:
    return reverse("mail:compose", args=[contact.pk])


def timeline_url(record) -> str:
    return reverse("activities:timeline", args=[record._meta.label_lower, record.pk])


def text(response) -> str:
    return response.content.decode()


FORM = {
    "to": "ann@acme.test",
    "cc": "boss@acme.test, deputy@acme.test",
    "subject": "Hello {{ contact.first_name }}",
    "body": "Dear {{ contact.full_name }}",
}


def test_the_contact_page_has_a_send_email_button(alice_client, ann):
    page = text(alice_client.get(ann.get_absolute_url()))

    assert f'href="{compose_url(ann)}"' in page
    assert "Send email" in page


def test_no_button_for_a_contact_who_asked_not_to_be_emailed(alice_client, as_alice, ann):
    contacts.contact_update(ann, actor=as_alice, values={"do_not_email": True})

    assert compose_url(ann) not in text(alice_client.get(ann.get_absolute_url()))


def test_the_compose_page_offers_the_contacts_addresses_primary_first(alice_client, ann):
    page = text(alice_client.get(compose_url(ann)))

    assert page.index('value="ann@acme.test" selected') < page.index('value="ann.archer@home.test"')


def test_choosing_a_template_fills_in_its_subject_and_text(alice_client, as_alice, ann):
    template = services.template_create(
        actor=as_alice,
        name="Intro",
        subject="About {{ company.name }}",
        body="Hi {{ contact.first_name }}",
    )

    response = alice_client.get(compose_url(ann), {"template": template.pk}, **HTMX)

    part = text(response)
    assert part.lstrip().startswith('<form method="post" id="compose-form"')
    assert 'value="About {{ company.name }}"' in part
    assert "Hi {{ contact.first_name }}</textarea>" in part
    assert f'name="template" value="{template.pk}"' in part


def test_preview_shows_the_email_as_the_contact_will_read_it(alice_client, ann):
    response = alice_client.post(compose_url(ann), FORM | {"action": "preview"})

    page = text(response)
    assert "<strong>Hello Ann</strong>" in page
    assert "Dear Ann Archer" in page
    assert not Activity.objects.exists()


def test_preview_names_unknown_merge_fields(alice_client, ann):
    response = alice_client.post(
        compose_url(ann), FORM | {"subject": "Hi {{ contact.owner.password }}", "action": "preview"}
    )

    assert "Unknown merge fields: contact.owner.password." in text(response)


def test_sending_queues_the_email_and_goes_back_to_the_contact(
    alice_client, ann, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(compose_url(ann), FORM | {"action": "send"})

    assert response.status_code == 302 and response["Location"] == ann.get_absolute_url()
    activity = Activity.objects.get()
    assert activity.email_cc == ["boss@acme.test", "deputy@acme.test"]
    assert OutgoingEmail.objects.get().status == DeliveryStatus.SENT
    [message] = smtp_server.messages
    assert message["Subject"] == "Hello Ann"


def test_do_not_email_is_a_form_error(alice_client, as_alice, ann):
    contacts.contact_update(ann, actor=as_alice, values={"do_not_email": True})

    response = alice_client.post(compose_url(ann), FORM | {"action": "send"})

    assert response.status_code == 200
    assert "Ann Archer asked not to be emailed." in text(response)
    assert not Activity.objects.exists()


def test_a_subject_with_a_line_break_is_a_form_error(alice_client, ann):
    response = alice_client.post(
        compose_url(ann), FORM | {"subject": "Hi\r\nBcc: x@y.test", "action": "send"}
    )

    assert "The subject must be one line." in text(response)
    assert not Activity.objects.exists()


def test_a_rep_cannot_open_the_compose_page_of_a_contact_they_cannot_see(alice_client, wes):
    assert alice_client.get(compose_url(wes)).status_code == 404
    assert alice_client.post(compose_url(wes), FORM | {"action": "send"}).status_code == 404
    assert not Activity.objects.exists()


def timeline_queries(client, record) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(timeline_url(record), **HTMX)
    return len(queries.captured_queries), text(response)


def test_the_timeline_shows_each_emails_delivery_at_no_cost_per_email(alice_client, as_alice, ann):
    sent = services.email_send(actor=as_alice, contact=ann, subject="First", body="One")
    OutgoingEmail.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)
    log_note(as_alice, ann)
    with_one_email, _page = timeline_queries(alice_client, ann)
    for number in range(5):
        failed = services.email_send(
            actor=as_alice, contact=ann, subject=f"Later {number}", body="x"
        )
    OutgoingEmail.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, last_error="The mail server answered 550 No <such> mailbox"
    )

    with_six_emails, page = timeline_queries(alice_client, ann)

    assert with_six_emails == with_one_email
    assert page.count('class="badge warn">Queued') == 4
    assert page.count('class="badge ok">Sent') == 1
    assert "The mail server answered 550 No &lt;such&gt; mailbox" in page
    assert reverse("mail:retry", args=[failed.pk]) in page
    # Pending ones poll for their status.
    assert page.count('hx-trigger="every 5s"') == 4


def test_the_delivery_status_part_answers_only_those_who_see_the_email(
    alice_client, as_alice, ann, charlie
):
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    url = reverse("mail:delivery", args=[activity.pk])

    assert "Queued" in text(alice_client.get(url, **HTMX))
    outsider = Client()
    outsider.force_login(charlie)
    assert outsider.get(url).status_code == 404
    assert outsider.post(reverse("mail:retry", args=[activity.pk])).status_code == 404


def test_sending_a_failed_email_again_from_the_timeline(alice_client, as_alice, ann):
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    OutgoingEmail.objects.filter(pk=activity.pk).update(status=DeliveryStatus.FAILED)

    response = alice_client.post(reverse("mail:retry", args=[activity.pk]), **HTMX)

    assert 'class="badge warn">Queued' in text(response)
    assert OutgoingEmail.objects.get().status == DeliveryStatus.QUEUED


def test_someone_elses_email_offers_no_retry(as_alice, ann, bob):
    activity = services.email_send(actor=as_alice, contact=ann, subject="Hi", body="Hi")
    OutgoingEmail.objects.filter(pk=activity.pk).update(status=DeliveryStatus.FAILED)
    client = Client()
    client.force_login(bob)

    page = text(client.get(reverse("mail:delivery", args=[activity.pk])))

    assert "Failed" in page and "Send again" not in page
