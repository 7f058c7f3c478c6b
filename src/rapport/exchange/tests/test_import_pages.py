"""The import wizard over HTTP: upload, mapping, preview, dry run, run, result."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.contacts.models import Contact
from rapport.exchange.models import ImportRun, ImportStatus
from rapport.exchange.tests.conftest import CONTACTS_CSV

pytestmark = pytest.mark.django_db


def _upload(client, content=CONTACTS_CSV, name="people.csv"):
    return client.post(
        reverse("exchange:import_list"),
        {"object_type": "contacts", "file": SimpleUploadedFile(name, content.encode())},
    )


def _mapping_post(run, action, **extra):
    data = {f"column_{i}": target for i, target in run.mapping.items()}
    return {"key": "email", "date_formats": ["%Y-%m-%d"], "action": action, **data, **extra}


def test_the_wizard_from_upload_to_result(admin_client, django_capture_on_commit_callbacks):
    response = _upload(admin_client)
    run = ImportRun.objects.get()
    assert response.status_code == 302
    page = admin_client.get(reverse("exchange:import_detail", args=[run.pk]))
    assert page.status_code == 200
    assert 'name="column_2"' in page.content.decode()
    preview = admin_client.post(
        reverse("exchange:import_detail", args=[run.pk]), _mapping_post(run, "preview")
    )
    text = preview.content.decode()
    assert "Enter a valid email address." in text and "cell-error" in text
    with django_capture_on_commit_callbacks(execute=True):
        dry = admin_client.post(
            reverse("exchange:import_detail", args=[run.pk]), _mapping_post(run, "dry_run")
        )
    assert dry.status_code == 302 and not Contact.objects.exists()
    page = admin_client.get(reverse("exchange:import_detail", args=[run.pk])).content.decode()
    assert "Dry run: 3 created, 0 updated, 0 unchanged, 1 failed." in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("exchange:import_detail", args=[run.pk]), _mapping_post(run, "start")
        )
    run.refresh_from_db()
    assert run.status == ImportStatus.SUCCEEDED and Contact.objects.count() == 3
    status = admin_client.get(reverse("exchange:import_status", args=[run.pk])).content.decode()
    assert "hx-trigger" not in status and "Download failed rows" in status
    failed = admin_client.get(reverse("exchange:import_failures", args=[run.pk]))
    body = b"".join(failed.streaming_content).decode()
    assert failed["Content-Type"].startswith("text/csv")
    assert body.splitlines()[1].startswith("Grace,Hopper,not-an-email,,Arlington,USA,,4,")


def test_a_bad_file_is_a_form_error(admin_client):
    response = _upload(admin_client, content="\x00\x01\x02binary", name="x.csv")
    assert response.status_code == 200
    assert "not a CSV file" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_bad_mapping_is_a_form_error(admin_client):
    _upload(admin_client)
    run = ImportRun.objects.get()
    response = admin_client.post(
        reverse("exchange:import_detail", args=[run.pk]),
        {"column_4": "address.city", "date_formats": ["%Y-%m-%d"], "action": "start"},
    )
    assert response.status_code == 200
    assert "Map a column to" in response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportStatus.MAPPING


def test_saving_a_mapping_offers_it_for_the_next_file(admin_client):
    _upload(admin_client)
    run = ImportRun.objects.get()
    data = _mapping_post(run, "save", name="CRM export")
    data["column_6"] = ""
    admin_client.post(reverse("exchange:import_detail", args=[run.pk]), data)
    _upload(admin_client)
    newest = ImportRun.objects.order_by("-id").first()
    assert "6" not in newest.mapping and newest.mapping["2"] == "email"


def test_someone_elses_import_is_a_404(admin_client, alice_client):
    _upload(admin_client)
    run = ImportRun.objects.get()
    for name in ("import_detail", "import_status", "import_failures"):
        assert alice_client.get(reverse(f"exchange:{name}", args=[run.pk])).status_code == 404
    url = reverse("exchange:import_action", args=[run.pk, "rollback"])
    assert alice_client.post(url).status_code == 404


def test_a_sales_rep_has_no_import_page(alice_client):
    assert alice_client.get(reverse("exchange:import_list")).status_code == 403


def test_the_list_of_imports_reads_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    for _ in range(3):
        _upload(admin_client)
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("exchange:import_list"))
    assert response.content.decode().count("people.csv") == 3


def test_saved_mappings_are_listed_and_deleted_by_their_owner(admin_client, alice_client):
    from rapport.exchange.models import ImportMapping

    _upload(admin_client)
    run = ImportRun.objects.get()
    admin_client.post(
        reverse("exchange:import_detail", args=[run.pk]), _mapping_post(run, "save", name="CRM")
    )
    mapping = ImportMapping.objects.get()
    assert "CRM" in admin_client.get(reverse("exchange:import_list")).content.decode()
    url = reverse("exchange:mapping_delete", args=[mapping.pk])
    assert alice_client.post(url).status_code == 404
    assert admin_client.post(url).status_code == 302
    assert not ImportMapping.objects.exists()


def test_rolling_back_leads_to_the_rollback_job(admin_client, django_capture_on_commit_callbacks):
    from rapport.core.models import Job

    _upload(admin_client)
    run = ImportRun.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("exchange:import_detail", args=[run.pk]), _mapping_post(run, "start")
        )
    url = reverse("exchange:import_action", args=[run.pk, "rollback"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    job = Job.objects.get(kind="exchange.import_rollback")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    assert not Contact.objects.exists()
    # A second rollback is refused with a message on the run's page.
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("exchange:import_detail", args=[run.pk])
    assert "Only a finished, cancelled or interrupted import" in response.content.decode()
