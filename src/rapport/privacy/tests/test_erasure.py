"""Erasing a person: no trace of them left in any text column, amounts kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection

from rapport.contacts.models import Contact
from rapport.core.models import Job, Source
from rapport.core.search import search
from rapport.privacy.erasure import erase_person
from rapport.privacy.exports import export_start
from rapport.privacy.models import ErasureRecord
from rapport.privacy.tests.conftest import EMAIL, FIRST, HOME_EMAIL, LAST, PHONE, PHONE_NATIONAL
from rapport.sales.models import Deal, WebFormSubmission

TEXT_TYPES = {"CharField", "TextField", "JSONField", "EmailField", "SlugField", "URLField"}


def _text_columns() -> list[tuple[str, str]]:
    """Every (table, column) that holds text, JSON or an undeclared type, in every table
    of the database — Django's or not (SQLite's full-text tables too)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.get_table_list(cursor):
            if table.type != "t":
                continue
            for column in connection.introspection.get_table_description(cursor, table.name):
                try:
                    kind = connection.introspection.get_field_type(column.type_code, column)
                except KeyError:
                    kind = "TextField"  # SQLite columns without a declared type
                if kind in TEXT_TYPES:
                    found.append((table.name, column.name))
    return found


def _hits(needle: str) -> list[str]:
    quote = connection.ops.quote_name
    cast = "CAST({} AS TEXT)"
    hits = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(table)} "
                f"WHERE LOWER({cast.format(quote(column))}) LIKE %s",
                [f"%{needle.lower()}%"],
            )
            if cursor.fetchone()[0]:
                hits.append(f"{table}.{column}")
    return hits


def test_erasure_leaves_no_trace_in_any_text_column(
    person, as_admin, media: Path, django_capture_on_commit_callbacks
):
    needles = [EMAIL, HOME_EMAIL, PHONE, PHONE_NATIONAL, PHONE.lstrip("+"), FIRST, LAST]
    with django_capture_on_commit_callbacks(execute=True):
        export_start(actor=as_admin, contact=person.contact)  # an export holds their data too
    assert Job.objects.get().result_file
    submission = WebFormSubmission.objects.get(lead=person.lead)
    assert person.contact.custom == {"nickname": f"{FIRST} the Great"}
    assert _hits(FIRST) and _hits(EMAIL) and _hits(PHONE)  # the scan does find them
    assert len([path for path in media.rglob("*") if path.is_file()]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        record = erase_person(contact=person.contact, actor=as_admin, confirmation="ERASE")

    assert {needle: _hits(needle) for needle in needles} == {needle: [] for needle in needles}
    files = [path for path in media.rglob("*") if path.is_file()]
    assert files == []
    # The export is gone; the sweep of the rest of the database ran in the background
    # and kept nothing of what it looked for.
    sweep = Job.objects.get()
    assert (sweep.kind, sweep.status, sweep.params) == ("privacy.erasure_sweep", "succeeded", {})
    assert search(as_admin.user, FIRST) == []
    # What is not personal stays: the deal, its amount, the bystander.
    deal = Deal.objects.get(pk=person.deal.pk)
    assert (deal.amount, deal.name) == (5000, "[erased] renewal")
    assert list(deal.participants.values_list("contact_id", flat=True)) == [person.contact.pk]
    bystander = Contact.objects.get(pk=person.bystander.pk)
    assert (bystander.first_name, bystander.email) == ("Ann", "ann@example.com")
    submission.refresh_from_db()
    assert (submission.data, submission.ip_address, submission.consent_given) == ({}, None, True)
    erased = Contact.objects.get(pk=person.contact.pk)
    assert (erased.first_name, erased.email, erased.do_not_email) == ("", "", True)
    assert (record.erased_by, record.object_id) == (as_admin.user, person.contact.pk)
    record.refresh_from_db()
    assert "other_rows" in record.counts
    assert FIRST not in str(record.counts)


def test_erasure_needs_an_admin_and_the_word(person, as_alice, as_admin):
    with pytest.raises(PermissionDenied):
        erase_person(contact=person.contact, actor=as_alice, confirmation="ERASE")
    with pytest.raises(ValidationError):
        erase_person(contact=person.contact, actor=as_admin, confirmation="yes")
    assert not ErasureRecord.objects.exists()
    assert Contact.objects.get(pk=person.contact.pk).first_name == FIRST

    erase_person(contact=person.contact, actor=as_admin, confirmation=f"{FIRST} {LAST}")
    with pytest.raises(ValidationError):
        erase_person(contact=person.contact, actor=as_admin, confirmation="ERASE")
    assert ErasureRecord.objects.count() == 1


def test_erase_page_for_admins_only(person, admin_client, alice_client):
    url = f"/contacts/{person.contact.pk}/privacy/erase/"
    assert alice_client.get(url).status_code == 403
    page = admin_client.get(url)
    assert page.status_code == 200
    wrong = admin_client.post(url, {"confirmation": "nope"})
    assert wrong.status_code == 200
    assert "Type ERASE or the person&#x27;s name to confirm." in wrong.content.decode()
    assert Contact.objects.get(pk=person.contact.pk).first_name == FIRST

    done = admin_client.post(url, {"confirmation": "ERASE"})
    assert done.status_code == 302
    assert Contact.objects.get(pk=person.contact.pk).first_name == ""
    settings_page = admin_client.get("/settings/privacy/").content.decode()
    assert f"contacts.contact #{person.contact.pk}" in settings_page


def test_erasure_api(person, admin_client, alice_client):
    url = f"/api/v1/contacts/{person.contact.pk}/erasure"
    assert (
        alice_client.post(
            url, {"confirmation": "ERASE"}, content_type="application/json"
        ).status_code
        == 404
    )
    refused = admin_client.post(url, {"confirmation": "x"}, content_type="application/json")
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    done = admin_client.post(url, {"confirmation": "ERASE"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["object_id"] == person.contact.pk


def test_erase_person_command(person):
    call_command("erase-person", str(person.contact.pk), "--yes")
    record = ErasureRecord.objects.get()
    assert (record.source, record.erased_by) == (Source.CLI, None)
    assert Contact.objects.get(pk=person.contact.pk).last_name == ""
