"""``rapport import`` and ``rapport export``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.models import Contact
from rapport.exchange.models import ImportRun
from rapport.exchange.tests.conftest import CONTACTS_CSV

pytestmark = pytest.mark.django_db


def test_import_reports_counts_and_writes_failed_rows(admin, tmp_path):
    source = tmp_path / "people.csv"
    source.write_text(CONTACTS_CSV)
    failures = tmp_path / "failed.csv"
    out = io.StringIO()
    call_command(
        "import",
        "contacts",
        str(source),
        "--as",
        admin.email,
        "--failures",
        str(failures),
        stdout=out,
    )
    assert "3 created, 0 updated, 0 unchanged, 1 failed." in out.getvalue()
    assert "line 4: E-mail: Enter a valid email address." in out.getvalue()
    assert failures.read_text().splitlines()[1].startswith("Grace,Hopper,not-an-email")
    assert Contact.objects.count() == 3


def test_import_dry_run_and_a_mapping_file(admin, tmp_path):
    source = tmp_path / "people.csv"
    source.write_text(CONTACTS_CSV)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"E-mail": "email", "City": "address.city"}}))
    out = io.StringIO()
    call_command(
        "import",
        "contacts",
        str(source),
        "--as",
        admin.email,
        "--mapping",
        str(mapping),
        "--dry-run",
        stdout=out,
    )
    assert "Dry run: 3 created" in out.getvalue()
    assert not Contact.objects.exists()
    assert ImportRun.objects.get().mapping == {"2": "email", "4": "address.city"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as", "nobody@example.com"], "No active user"),
        (["--as", "alice@example.com"], "may not import"),
        (["--as", "admin@example.com", "--mapping", "/nonexistent.json"], "Cannot read"),
    ],
)
def test_import_refusals_are_clear(admin, alice, tmp_path, arguments, message):
    source = tmp_path / "people.csv"
    source.write_text(CONTACTS_CSV)
    with pytest.raises(CommandError, match=message):
        call_command("import", "contacts", str(source), *arguments)


def test_export_with_filters_to_a_file(admin, tmp_path):
    Contact.objects.create(first_name="Zed", email="zed@example.com", lifecycle_stage="customer")
    Contact.objects.create(first_name="Amy", email="amy@example.com", lifecycle_stage="lead")
    target = tmp_path / "customers.csv"
    call_command(
        "export",
        "contacts",
        "--as",
        admin.email,
        "--filter",
        "lifecycle_stage=customer",
        "--columns",
        "email",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    assert target.read_text().splitlines() == ["Name,Email", "Zed,zed@example.com"]


def test_export_refuses_an_unknown_filter(admin, tmp_path):
    with pytest.raises(CommandError):
        call_command("export", "contacts", "--as", admin.email, "--filter", "nonsense")


def test_import_of_a_file_unreadable_past_its_header_is_a_command_error(admin, tmp_path):
    source = tmp_path / "open-quote.csv"
    source.write_text('Email,First name\na@example.com,"Ann\n' + "x" * 1_100_000 + "\n")
    with pytest.raises(CommandError, match="cannot be read from line 2 on"):
        call_command("import", "contacts", str(source), "--as", admin.email)
    assert not Contact.objects.exists()
