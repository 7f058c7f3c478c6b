"""Attachments in the browser's terms: the panel on a record's page, upload (plain
and htmx), download, delete, and what someone who may not see the record gets."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.attachments import services
from rapport.attachments.models import Attachment
from rapport.attachments.tests.conftest import HTML, PDF, stored_files, upload

pytestmark = pytest.mark.django_db


def upload_url(record) -> str:
    return reverse(
        "attachments:upload", kwargs={"object_type": "contacts.contact", "object_id": record.pk}
    )


def list_url(record) -> str:
    return reverse(
        "attachments:list", kwargs={"object_type": "contacts.contact", "object_id": record.pk}
    )


def download(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def offer(as_alice, ann):
    services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))
    return services.attachment_upload(
        actor=as_alice, record=ann, file=upload("offer.pdf", PDF + b"%v2\n")
    ).attachment


def test_the_record_page_lists_attachments_with_versions_and_an_upload_form(
    alice_client, ann, offer
):
    page = alice_client.get(ann.get_absolute_url()).content.decode()

    assert 'id="attachments-panel"' in page
    assert "offer.pdf" in page
    assert "2 versions" in page
    assert reverse("attachments:download_version", args=[offer.pk, 1]) in page
    assert reverse("attachments:delete", args=[offer.pk]) in page
    assert 'enctype="multipart/form-data"' in page
    assert "csrfmiddlewaretoken" in page


def test_a_teammate_who_may_not_edit_sees_attachments_but_no_upload_or_delete(
    bob_client, ann, offer
):
    page = bob_client.get(ann.get_absolute_url()).content.decode()

    assert "offer.pdf" in page
    assert upload_url(ann) not in page
    assert reverse("attachments:delete", args=[offer.pk]) not in page
    assert bob_client.post(upload_url(ann), {"file": upload()}).status_code == 403
    assert bob_client.get(reverse("attachments:delete", args=[offer.pk])).status_code == 403
    assert bob_client.post(reverse("attachments:delete", args=[offer.pk])).status_code == 403
    assert Attachment.objects.count() == 1


def test_upload_by_plain_post_redirects_to_the_record(alice_client, ann, media):
    response = alice_client.post(upload_url(ann), {"file": upload("terms.pdf")})

    assert response.status_code == 302
    assert response["Location"] == ann.get_absolute_url()
    assert Attachment.objects.get().name == "terms.pdf"
    assert len(stored_files(media)) == 1


def test_upload_by_htmx_answers_with_the_panel(alice_client, ann):
    response = alice_client.post(
        upload_url(ann), {"file": upload("terms.pdf")}, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section class="card" id="attachments-panel"')
    assert "“terms.pdf” is attached." in page


def test_a_refused_upload_shows_the_reason_and_stores_nothing(alice_client, ann, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 10

    plain = alice_client.post(upload_url(ann), {"file": upload("terms.pdf")})
    settings.ATTACHMENT_MAX_BYTES = 10_000
    htmx = alice_client.post(
        upload_url(ann), {"file": upload("page.html", HTML)}, headers={"HX-Request": "true"}
    )
    missing = alice_client.post(upload_url(ann), {})

    assert plain.status_code == 422
    assert "The file is too large" in plain.content.decode()
    assert htmx.status_code == 200
    assert "not accepted" in htmx.content.decode()
    assert missing.status_code == 422
    assert "This field is required." in missing.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_download_streams_the_latest_or_a_given_version_safely(alice_client, offer):
    latest = alice_client.get(reverse("attachments:download", args=[offer.pk]))
    first = alice_client.get(reverse("attachments:download_version", args=[offer.pk, 1]))

    assert download(latest) == PDF + b"%v2\n"
    assert download(first) == PDF
    assert latest["Content-Type"] == "application/pdf"
    assert latest["Content-Disposition"] == 'attachment; filename="offer.pdf"'
    assert latest["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in latest["Content-Security-Policy"]
    missing = alice_client.get(reverse("attachments:download_version", args=[offer.pk, 3]))
    assert missing.status_code == 404


def test_a_name_with_quotes_and_accents_is_sent_back_quoted(alice_client, as_alice, ann):
    name = 'Bericht "Q3" \u2013 Müller.pdf'
    version = services.attachment_upload(actor=as_alice, record=ann, file=upload(name))

    response = alice_client.get(reverse("attachments:download", args=[version.attachment_id]))

    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Bericht%20%22Q3%22%20%E2%80%93%20M%C3%BCller.pdf"
    )


def test_someone_who_cannot_see_the_record_gets_404_everywhere(charlie_client, ann, offer):
    pk = offer.pk
    for url in (
        ann.get_absolute_url(),
        list_url(ann),
        reverse("attachments:download", args=[pk]),
        reverse("attachments:download_version", args=[pk, 1]),
        reverse("attachments:delete", args=[pk]),
    ):
        assert charlie_client.get(url).status_code == 404, url
    assert charlie_client.post(upload_url(ann), {"file": upload()}).status_code == 404
    assert charlie_client.post(reverse("attachments:delete", args=[pk])).status_code == 404
    assert Attachment.objects.get().version_count == 2


def test_attachments_of_a_trashed_record_are_gone_until_it_is_restored(
    alice_client, as_alice, ann, offer
):
    from rapport.contacts.services import contact_delete

    contact_delete(ann, actor=as_alice)

    assert alice_client.get(reverse("attachments:download", args=[offer.pk])).status_code == 404


def test_delete_asks_then_deletes(
    alice_client, ann, offer, media, django_capture_on_commit_callbacks
):
    url = reverse("attachments:delete", args=[offer.pk])

    confirm = alice_client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url)

    assert confirm.status_code == 200
    assert "Delete the attachment “offer.pdf”?" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == ann.get_absolute_url()
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_posts_need_the_csrf_token(alice, ann, offer, media):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert client.post(upload_url(ann), {"file": upload("terms.pdf")}).status_code == 403
    assert client.post(reverse("attachments:delete", args=[offer.pk])).status_code == 403
    assert Attachment.objects.get().version_count == 2
    assert len(stored_files(media)) == 2


def test_pages_need_a_login(ann, offer):
    response = Client().get(reverse("attachments:download", args=[offer.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_media_dir_is_not_served(alice_client, offer):
    stored = offer.versions.first().file.name

    assert alice_client.get(f"/media/{stored}").status_code == 404


def test_the_list_page_pages_through_attachments_in_a_fixed_number_of_queries(
    alice_client, as_alice, ann, django_assert_max_num_queries
):
    for number in range(3):
        for _version in range(2):
            services.attachment_upload(actor=as_alice, record=ann, file=upload(f"f{number}.pdf"))

    with django_assert_max_num_queries(12):
        page = alice_client.get(list_url(ann)).content.decode()

    assert all(f"f{number}.pdf" in page for number in range(3))
    assert page.count("2 versions") == 3


def test_the_record_page_panel_costs_a_fixed_number_of_queries(
    alice_client, as_alice, ann, django_assert_max_num_queries
):
    services.attachment_upload(actor=as_alice, record=ann, file=upload("one.pdf"))
    with django_assert_max_num_queries(100) as few:
        alice_client.get(ann.get_absolute_url())
    for number in range(5):
        for _version in range(2):
            services.attachment_upload(actor=as_alice, record=ann, file=upload(f"f{number}.pdf"))

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = alice_client.get(ann.get_absolute_url()).content.decode()

    assert page.count("2 versions") == 5
