"""Backup and restore: the round trip reproduces every row and file, on one database and
across SQLite and PostgreSQL; the backup is one snapshot while others write; a damaged
archive, an instance holding data or another schema are refused before anything is
written."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from rapport.accounts.models import User
from rapport.activities import services as activities
from rapport.attachments.models import AttachmentVersion
from rapport.attachments.services import attachment_upload
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.customfields import customfield_create
from rapport.core.models import AuditEntry, SearchEntry, Source
from rapport.exchange.backup import BackupError, backup_restore, backup_verify, backup_write
from rapport.sales import deals, orders
from rapport.sales import services as sales
from rapport.sales.models import Stage
from rapport.tasks.services import ref_of, task_create
from rapport.testing.processes import rapport_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# Compared apart: content types and permissions by name (their ids are each instance's
# own), search entries without their ids (rebuilt). Search terms are the words ever
# indexed, so a restored instance knows only those of today's records.
NOT_COMPARED = {"sessions.session", "core.workerheartbeat", "core.searchterm"}
WITHOUT_IDS = (ContentType, Permission, SearchEntry)
OTHER_POSTGRES = os.environ.get(
    "RAPPORT_TEST_OTHER_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    return use_media(settings, tmp_path / "media")


@pytest.fixture(autouse=True)
def forget_content_types():
    """The rows come back with their first ids after a test that renumbered them."""
    yield
    ContentType.objects.clear_cache()


def use_media(settings, root: Path) -> Path:
    settings.MEDIA_ROOT = root
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    }
    return root


def build_dataset(alice: User, bob: User, admin: User) -> dict[str, Any]:
    """A bit of everything, written through the services as users would."""
    as_alice = Actor(user=alice, source=Source.UI)
    as_admin = Actor(user=admin, source=Source.API)
    customfield_create(
        actor=as_admin,
        content_type=ContentType.objects.get_for_model(Contact),
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["gold", "silver"],
    )
    vip = contacts.tag_create(actor=as_admin, name="VIP", color="#aa0000")
    group = Group.objects.create(name="Auditors")
    group.permissions.set(Permission.objects.filter(codename__startswith="view_")[:3])
    acme = contacts.company_create(
        actor=as_alice,
        values={"name": "Acme GmbH", "annual_revenue": Decimal("1234567.89"), "currency": "EUR"},
        phones=[{"number": "+49 30 1234567", "kind": "work"}],
        addresses=[{"street": "Unter den Linden 1", "city": "Berlin", "country": "DE"}],
    )
    ann = contacts.contact_create(
        actor=as_alice,
        values={
            "first_name": "Ann",
            "last_name": "Müller-Lüdenscheidt",
            "company": acme,
            "birthday": datetime.date(1985, 2, 28),
            "product_interests": ["widgets", "gizmos"],
        },
        custom={"tier": "gold"},
        emails=[
            {"email": "ann@acme.example", "kind": "work"},
            {"email": "ann@home.example", "kind": "personal"},
        ],
        phones=[{"number": "+1 212 555 0100", "kind": "mobile"}],
        social_profiles=[{"url": "https://www.linkedin.com/in/ann"}],
        tags=[vip],
    )
    gone = contacts.contact_create(actor=as_alice, values={"first_name": "Gone"})
    contacts.contact_delete(gone, actor=as_alice)
    friends = contacts.list_create(actor=as_alice, name="Friends")
    contacts.list_add(friends, [ann], actor=as_alice)
    activities.activity_create(
        actor=as_alice, kind="note", links=[ann, acme], values={"body": "Likes *blue* — 🎉"}
    )
    activities.activity_create(
        actor=as_alice,
        kind="call",
        links=[ann],
        values={"direction": "out", "duration_seconds": 300, "outcome": "connected"},
    )
    task_create(
        actor=as_alice,
        values={"title": "Send the offer", "due_at": timezone.now() + datetime.timedelta(days=2)},
        related=[ref_of(ann)],
    )
    book = sales.price_book_create(
        actor=as_admin, values={"name": "List USD", "currency": "USD", "is_default": True}
    )
    desk = sales.product_create(
        actor=as_admin, values={"sku": "DESK-1", "name": "Desk", "tax_rate": Decimal("20")}
    )
    sales.price_set(book, actor=as_admin, product=desk, unit_price="100.00")
    desk = sales.product_adjust_stock(desk, actor=as_admin, change=10, reason="Count")
    deal = deals.deal_create(
        actor=as_alice,
        values={"name": "Acme office", "company": acme},
        contacts=[deals.Participant(ann, role="decision_maker")],
        line_items=[{"product": desk.pk, "quantity": 3, "unit_price": "100"}],
    )
    deals.deal_move(deal, actor=as_alice, stage=Stage.objects.get(name="Proposal"))
    orders.order_create(
        actor=as_alice,
        values={"contact": ann, "deal": deal},
        lines=[{"product": desk.pk, "quantity": 2, "discount_percent": "12.5"}],
    )
    version = attachment_upload(
        actor=as_alice, record=ann, file=SimpleUploadedFile("offer.pdf", PDF, "application/pdf")
    )
    contacts.contact_create(
        actor=Actor(user=bob, source=Source.IMPORT),
        values={"first_name": "Bo", "email": "bo@example.org", "timezone": "Europe/Paris"},
    )
    return {"ann": ann, "file": version.file.name}


def natural_keys() -> dict[type, dict[int, Any]]:
    types = {row.pk: (row.app_label, row.model) for row in ContentType.objects.all()}
    permissions = {
        row.pk: (types[row.content_type_id], row.codename) for row in Permission.objects.all()
    }
    return {ContentType: types, Permission: permissions}


def dump() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, foreign keys to content types and permissions by name."""
    keys = natural_keys()
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in NOT_COMPARED or model._meta.proxy:
            continue
        fields = model._meta.concrete_fields
        rows = []
        for values in model._base_manager.order_by("pk").values_list(
            *[field.attname for field in fields]
        ):
            row = {}
            for field, value in zip(fields, values, strict=True):
                if field.is_relation and field.related_model in keys and value is not None:
                    value = keys[field.related_model][value]
                row[field.attname] = value
            rows.append(row)
        if model in WITHOUT_IDS:
            rows = sorted(({k: v for k, v in row.items() if k != "id"} for row in rows), key=repr)
        tables[label] = rows
    return tables


def read_rows(archive: zipfile.ZipFile, model: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in archive.read(f"tables/{model}.jsonl").splitlines()]


def assert_same(after: dict, before: dict) -> None:
    assert after.keys() == before.keys()
    for label, rows in before.items():
        assert after[label] == rows, label


def empty_the_instance(settings, tmp_path: Path, name: str = "restored-media") -> None:
    """What a new instance looks like: migrated, no data, content types and permissions of
    its own with other ids than the old instance's, an empty media dir."""
    call_command("flush", interactive=False, verbosity=0)
    types = list(ContentType.objects.order_by("-pk").values_list("app_label", "model"))
    ContentType.objects.all().delete()
    ContentType.objects.bulk_create(
        [ContentType(app_label=label, model=model) for label, model in types]
    )
    ContentType.objects.clear_cache()
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    use_media(settings, tmp_path / name)


def test_the_round_trip_reproduces_every_row_and_file(settings, tmp_path, alice, bob, admin, media):
    data = build_dataset(alice, bob, admin)
    before = dump()
    archive = tmp_path / "backup.zip"

    written = backup_write(archive)

    assert written.database_vendor == connection.vendor
    assert {table.model for table in written.tables} >= {"contacts.contact", "sales.order"}
    empty_the_instance(settings, tmp_path)
    assert User.objects.count() == 0

    restored = backup_restore(archive)

    assert restored == written
    assert_same(dump(), before)
    assert default_storage.open(data["file"]).read() == PDF
    ann = Contact.objects.get(pk=data["ann"].pk)
    groups = search.search(ann.owner, "Lüdenscheidt")
    hits = [(hit.object_type, hit.object_id) for group in groups for hit in group.hits]
    assert ("contacts.contact", ann.pk) in hits
    # New rows take ids above the restored ones (PostgreSQL's sequences were moved).
    later = contacts.contact_create(
        actor=Actor(user=ann.owner, source=Source.UI), values={"first_name": "Later"}
    )
    assert later.pk > Contact.all_objects.exclude(pk=later.pk).order_by("-pk")[0].pk


def test_the_manifest_counts_and_checksums_every_table_and_file(tmp_path, alice, bob, admin):
    data = build_dataset(alice, bob, admin)
    archive = tmp_path / "backup.zip"

    manifest = backup_write(archive)

    with zipfile.ZipFile(archive) as opened:
        listed = json.loads(opened.read("manifest.json"))
        assert listed["format"] == "rapport-backup"
        assert listed["format_version"] == 1
        assert listed["database_vendor"] == connection.vendor
        assert "contacts.0001_initial" in listed["migrations"]
        for table in manifest.tables:
            lines = opened.read(table.path).decode().splitlines()
            assert len(lines) == table.rows
            assert table.sha256 == hashlib.sha256(opened.read(table.path)).hexdigest()
        contact_rows = read_rows(opened, "contacts.contact")
        [entry] = manifest.files
        assert (entry.name, entry.size) == (data["file"], len(PDF))
        assert opened.read(entry.path) == PDF
        assert entry.path == f"files/{data['file']}"
    assert {table.model for table in manifest.tables}.isdisjoint(
        {"sessions.session", "core.searchentry", "core.searchterm", "core.workerheartbeat"}
    )
    counts = {table.model: table.rows for table in manifest.tables}
    assert counts["contacts.contact"] == Contact.all_objects.count() == 3
    assert counts["core.auditentry"] == AuditEntry.objects.count()
    ann = next(row for row in contact_rows if row["first_name"] == "Ann")
    assert ann["custom"] == {"tier": "gold"}
    assert ann["birthday"] == "1985-02-28"
    trashed = next(row for row in contact_rows if row["first_name"] == "Gone")
    assert trashed["deleted_at"] is not None
    assert backup_verify(archive) == manifest


# A backup while the app writes


def test_the_backup_is_one_snapshot_while_others_write(tmp_path, alice, as_alice):
    contacts.contact_create(actor=as_alice, values={"first_name": "Early"})
    audit_before = AuditEntry.objects.count()
    failures: list[BaseException] = []

    def write_elsewhere() -> None:
        try:
            contacts.contact_create(
                actor=Actor(user=User.objects.get(pk=alice.pk), source=Source.API),
                values={"first_name": "Late"},
            )
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    def write_once_started(done: int, total: int | None) -> None:
        if done == 0:
            writer = threading.Thread(target=write_elsewhere)
            writer.start()
            writer.join()

    manifest = backup_write(tmp_path / "backup.zip", progress=write_once_started)

    assert failures == []
    assert set(Contact.objects.values_list("first_name", flat=True)) == {"Early", "Late"}
    counts = {table.model: table.rows for table in manifest.tables}
    assert counts["contacts.contact"] == 1
    assert counts["core.auditentry"] == audit_before
    with zipfile.ZipFile(tmp_path / "backup.zip") as archive:
        assert [row["first_name"] for row in read_rows(archive, "contacts.contact")] == ["Early"]


# Refusals


def small_archive(tmp_path: Path, alice: User) -> tuple[Path, str]:
    """An archive of one contact with one attached file; returns it and the file's name."""
    actor = Actor(user=alice, source=Source.UI)
    ann = contacts.contact_create(actor=actor, values={"first_name": "Ann"})
    version = attachment_upload(
        actor=actor, record=ann, file=SimpleUploadedFile("offer.pdf", PDF, "application/pdf")
    )
    path = tmp_path / "backup.zip"
    backup_write(path)
    return path, version.file.name


def rewritten(
    archive: Path,
    *,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    manifest=None,
) -> Path:
    """A copy of ``archive`` with entries replaced or left out, its manifest edited."""
    target = archive.with_name("changed.zip")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w") as copy:
        listed = json.loads(source.read("manifest.json"))
        if manifest:
            manifest(listed)
        for info in source.infolist():
            if info.filename in drop:
                continue
            if info.filename in (replace or {}):
                copy.writestr(info.filename, replace[info.filename])
            elif info.filename == "manifest.json":
                copy.writestr(info.filename, json.dumps(listed))
            else:
                copy.writestr(info.filename, source.read(info.filename))
    return target


def other_bytes(archive: Path, content: bytes) -> Path:
    target = archive.with_name("changed.zip")
    target.write_bytes(content)
    return target


def table_entry(listed: dict, model: str) -> dict:
    return next(table for table in listed["tables"] if table["model"] == model)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


CONTACTS = "tables/contacts.contact.jsonl"


def _swap_first_name(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as opened:
        return {CONTACTS: opened.read(CONTACTS).replace(b'"Ann"', b'"Bob"')}


def _file_entry(archive: Path) -> str:
    with zipfile.ZipFile(archive) as opened:
        return next(name for name in opened.namelist() if name.startswith("files/"))


BROKEN_ARCHIVES = {
    "not a zip": (
        lambda archive: other_bytes(archive, b"name,email\nAnn,ann@example.com\n"),
        "is not a backup archive",
    ),
    "cut short": (
        lambda archive: other_bytes(archive, archive.read_bytes()[:300]),
        "is not a backup archive",
    ),
    "no manifest": (
        lambda archive: rewritten(archive, drop=("manifest.json",)),
        "it has no manifest",
    ),
    "manifest not JSON": (
        lambda archive: rewritten(archive, replace={"manifest.json": b"{"}),
        "manifest is unreadable",
    ),
    "a row changed": (
        lambda archive: rewritten(archive, replace=_swap_first_name(archive)),
        f"{CONTACTS} does not match its checksum",
    ),
    "a table missing": (
        lambda archive: rewritten(archive, drop=(CONTACTS,)),
        f"is incomplete: {CONTACTS} is missing",
    ),
    "a file missing": (
        lambda archive: rewritten(archive, drop=(_file_entry(archive),)),
        "is incomplete: files/attachments/",
    ),
    "a file changed": (
        lambda archive: rewritten(archive, replace={_file_entry(archive): b"%PDF-1.4 other"}),
        "does not match its checksum",
    ),
    "rows miscounted": (
        lambda archive: rewritten(
            archive,
            manifest=lambda listed: table_entry(listed, "contacts.contact").update(rows=5),
        ),
        "holds 1 rows, its manifest says 5",
    ),
    "another format": (
        lambda archive: rewritten(archive, manifest=lambda listed: listed.update(format_version=9)),
        "backup format 9",
    ),
    "another schema": (
        lambda archive: rewritten(
            archive, manifest=lambda listed: listed["migrations"].remove("contacts.0002_engagement")
        ),
        "another database schema (this database has contacts.0002_engagement",
    ),
    "a file outside the storage": (
        lambda archive: rewritten(
            archive, manifest=lambda listed: listed["files"][0].update(name="../../etc/passwd")
        ),
        "names a file outside the storage",
    ),
}


@pytest.mark.parametrize("case", BROKEN_ARCHIVES)
def test_a_broken_archive_is_refused_and_nothing_is_written(settings, tmp_path, alice, case):
    archive, _name = small_archive(tmp_path, alice)
    break_it, message = BROKEN_ARCHIVES[case]
    broken = break_it(archive)
    empty_the_instance(settings, tmp_path)

    with pytest.raises(BackupError, match=message.replace("(", r"\(")):
        backup_restore(broken)

    assert User.objects.count() == Contact.all_objects.count() == AuditEntry.objects.count() == 0
    assert stored_files(tmp_path / "restored-media") == []


def test_an_instance_holding_data_is_refused_and_left_alone(tmp_path, alice):
    archive, _name = small_archive(tmp_path, alice)
    before = dump()

    with pytest.raises(BackupError, match=r"not empty \(1 users\)"):
        backup_restore(archive)

    assert_same(dump(), before)


def test_a_storage_holding_the_files_already_is_refused(settings, tmp_path, alice, media):
    archive, name = small_archive(tmp_path, alice)
    call_command("flush", interactive=False, verbosity=0)

    with pytest.raises(BackupError, match=f"already holds 1 of the archive's files \\({name}"):
        backup_restore(archive)

    assert User.objects.count() == 0


def test_rows_the_database_refuses_leave_no_row_and_no_file(settings, tmp_path, alice):
    archive, _name = small_archive(tmp_path, alice)
    with zipfile.ZipFile(archive) as opened:
        rows = read_rows(opened, "contacts.contact")
    rows[0]["owner_id"] = 999_999
    content = "".join(json.dumps(row) + "\n" for row in rows).encode()
    broken = rewritten(
        archive,
        replace={CONTACTS: content},
        manifest=lambda listed: table_entry(listed, "contacts.contact").update(
            sha256=hashlib.sha256(content).hexdigest()
        ),
    )
    empty_the_instance(settings, tmp_path)

    with pytest.raises(BackupError, match="The database refused the archive's rows"):
        backup_restore(broken)

    assert User.objects.count() == Contact.all_objects.count() == 0
    assert stored_files(tmp_path / "restored-media") == []


def test_a_file_gone_from_the_storage_is_reported_and_the_rest_restores(
    settings, tmp_path, alice, media
):
    actor = Actor(user=alice, source=Source.UI)
    ann = contacts.contact_create(actor=actor, values={"first_name": "Ann"})
    version = attachment_upload(
        actor=actor, record=ann, file=SimpleUploadedFile("offer.pdf", PDF, "application/pdf")
    )
    default_storage.delete(version.file.name)
    archive = tmp_path / "backup.zip"

    manifest = backup_write(archive)

    assert manifest.missing_files == [version.file.name]
    assert manifest.files == []
    empty_the_instance(settings, tmp_path)
    backup_restore(archive)
    assert AttachmentVersion.objects.get().file.name == version.file.name


# The commands


def test_the_commands_write_check_and_refuse(tmp_path, alice, capsys):
    small_archive(tmp_path, alice)
    path = tmp_path / "by-command.zip"

    call_command("backup", str(path), "--no-progress")
    call_command("restore", str(path), "--check", "--no-progress")

    out = capsys.readouterr().out
    assert f"Wrote {path}" in out
    assert "1 files" in out
    assert f"{path} is sound:" in out
    assert not path.with_name("by-command.zip.partial").exists()
    with pytest.raises(CommandError, match="exists; give --overwrite"):
        call_command("backup", str(path))
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(path), "--no-progress")


@pytest.mark.parametrize("name", ["backup", "restore"])
def test_the_commands_explain_themselves(name):
    parser = load_command_class("rapport.exchange", name).create_parser("rapport", name)
    assert "empty" in parser.format_help()


# Across databases


def run_rapport(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def other_database(tmp_path) -> Iterator[str]:
    """A ``RAPPORT_DATABASE_URL`` of a new database of the other kind: PostgreSQL when the
    tests run on SQLite (skipped when no server answers), SQLite otherwise."""
    if connection.vendor == "postgresql":
        yield f"sqlite:///{tmp_path / 'other.sqlite3'}"
        return
    import psycopg

    name = f"rapport_restore_test_{os.getpid()}"
    try:
        server = psycopg.connect(OTHER_POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server to restore into ({error})")
    with server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
        try:
            yield OTHER_POSTGRES.rsplit("/", 1)[0] + f"/{name}"
        finally:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_the_other_database_and_back(
    settings, tmp_path, alice, bob, admin, other_database
):
    data = build_dataset(alice, bob, admin)
    before = dump()
    first = tmp_path / "first.zip"
    backup_write(first)
    env = rapport_env(
        RAPPORT_DATABASE_URL=other_database, RAPPORT_DATA_DIR=str(tmp_path / "other-data")
    )

    migrated = run_rapport("migrate", "--no-input", "-v", "0", env=env)
    restored = run_rapport("restore", str(first), env=env)
    again = run_rapport("restore", str(first), env=env)
    second = tmp_path / "second.zip"
    backed_up = run_rapport("backup", str(second), env=env)

    assert migrated.returncode == 0, migrated.stderr
    assert restored.returncode == 0, restored.stderr
    assert f"{first} restored" in restored.stdout
    assert again.returncode == 1
    assert "This instance is not empty (3 users)" in again.stderr
    assert backed_up.returncode == 0, backed_up.stderr
    assert backup_verify(second).database_vendor != connection.vendor
    empty_the_instance(settings, tmp_path)
    backup_restore(second)
    assert_same(dump(), before)
    assert default_storage.open(data["file"]).read() == PDF
