"""Exports of leads and products: the list pages' Export button, the CLI and the API."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from rapport.core.models import Job, JobStatus
from rapport.sales.models import Lead, Product

pytestmark = pytest.mark.django_db


def _file(job: Job) -> bytes:
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    with job.result_file.open("rb") as handle:
        return handle.read()


def test_the_lead_list_exports_what_its_filters_select(
    admin_client, admin, django_capture_on_commit_callbacks
):
    Lead.objects.create(first_name="Ann", email="ann@example.com", status="new", owner=admin)
    Lead.objects.create(first_name="Bo", email="bo@example.com", status="qualified", owner=admin)
    page = admin_client.get("/leads/?status=qualified").content.decode()
    assert 'action="/exports/leads/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/exports/leads/", {"query": "status=qualified", "format": "jsonl"}
        )
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    rows = [json.loads(line) for line in _file(job).decode().splitlines()]
    assert [(row["email"], row["status"]) for row in rows] == [("bo@example.com", "Qualified")]


def test_products_export_to_xlsx(admin_client, admin, django_capture_on_commit_callbacks):
    Product.objects.create(sku="A-1", name="Anvil", owner=admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/exports/products/", {"query": "", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(_file(Job.objects.get())), read_only=True)
    rows = [list(row) for row in sheet.worksheets[0].iter_rows(values_only=True)]
    assert rows[0][:2] == ["Name", "SKU"] and rows[1][:2] == ["Anvil", "A-1"]


def test_an_unknown_list_or_format_is_refused(admin_client):
    assert admin_client.post("/exports/spaceships/", {"query": ""}).status_code == 404
    response = admin_client.post("/exports/leads/", {"query": "", "format": "pdf"})
    assert response.status_code == 302 and not Job.objects.exists()


def test_a_role_without_the_export_right_is_refused(db):
    from django.test import Client

    from rapport.conftest import make_user

    support = make_user("help@example.com", role_slug="support-agent")
    client = Client()
    client.force_login(support)
    assert client.post("/exports/leads/", {"query": ""}).status_code == 403


def test_export_leads_from_the_terminal(admin, tmp_path):
    Lead.objects.create(first_name="Ann", email="ann@example.com", owner=admin)
    target = tmp_path / "leads.csv"
    call_command(
        "export",
        "leads",
        "--as",
        admin.email,
        "--columns",
        "email",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    assert target.read_text().splitlines() == ["Name,Email", "Ann,ann@example.com"]
