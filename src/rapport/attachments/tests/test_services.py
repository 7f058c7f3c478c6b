"""The attachment rules, through the services: versions, size and type limits,
permissions, audit and events, and no file left behind by a refused or failed write."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.http import Http404

from rapport.attachments import services
from rapport.attachments.filetypes import clean_name
from rapport.attachments.models import Attachment, AttachmentVersion
from rapport.attachments.tests.conftest import (
    EXE,
    HTML,
    PDF,
    PNG,
    office_file,
    stored_files,
    upload,
)
from rapport.contacts import services as contacts
from rapport.core.actors import Actor
from rapport.core.models import AuditAction, AuditEntry, OutboxEvent, Source
from rapport.core.services import record_purge
from rapport.core.tasks import dispatch_until_empty

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


attachment_audit = AuditEntry.objects.filter(content_type__model="attachment")


def refusal(error: ValidationError) -> str:
    return " ".join(error.value.message_dict["file"])


def test_an_upload_is_stored_under_a_random_name_audited_and_announced(as_alice, ann, media):
    version = services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))

    attachment = version.attachment
    assert (attachment.object_type, attachment.object_id) == ("contacts.contact", str(ann.pk))
    assert (attachment.name, attachment.version_count, attachment.size) == (
        "offer.pdf",
        1,
        len(PDF),
    )
    assert (version.number, version.content_type, version.uploaded_by) == (
        1,
        "application/pdf",
        as_alice.user,
    )
    [stored] = stored_files(media)
    assert stored.read_bytes() == PDF
    assert "offer" not in stored.name
    entry = attachment_audit.get(object_id=str(attachment.pk), action=AuditAction.CREATE)
    assert entry.changes["name"] == [None, "offer.pdf"]
    event = OutboxEvent.objects.get(name="attachment.created")
    assert event.payload == {
        "object_type": "contacts.contact",
        "object_id": str(ann.pk),
        "name": "offer.pdf",
        "version": 1,
        "size": len(PDF),
        "content_type": "application/pdf",
    }


def test_the_same_name_again_adds_a_version_and_keeps_the_old_one(as_alice, ann, media):
    revised = PDF + b"% revised\n"
    services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))
    second = services.attachment_upload(
        actor=as_alice, record=ann, file=upload("offer.pdf", revised)
    )
    other = services.attachment_upload(actor=as_alice, record=ann, file=upload("terms.pdf"))

    attachment = second.attachment
    assert (second.number, attachment.version_count, attachment.size) == (2, 2, len(revised))
    assert Attachment.objects.count() == 2
    assert other.attachment != attachment
    versions = attachment.versions.order_by("number")
    assert [version.file.read() for version in versions] == [PDF, revised]
    assert len(stored_files(media)) == 3
    assert OutboxEvent.objects.filter(name="attachment.updated").count() == 1
    update = attachment_audit.get(object_id=str(attachment.pk), action=AuditAction.UPDATE)
    assert update.changes["version_count"] == [1, 2]


def test_an_explicit_name_wins_over_the_files_own(as_alice, ann):
    version = services.attachment_upload(
        actor=as_alice, record=ann, file=ContentFile(PDF, name="scan0001.pdf"), name="Contract.pdf"
    )

    assert version.attachment.name == "Contract.pdf"


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(as_alice, ann, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 20

    with pytest.raises(ValidationError) as error:
        services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))

    assert "too large" in refusal(error)
    assert "20\xa0bytes" in refusal(error)
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_an_empty_or_nameless_file_is_refused(as_alice, ann, media):
    with pytest.raises(ValidationError) as empty:
        services.attachment_upload(actor=as_alice, record=ann, file=upload("empty.txt", b""))
    with pytest.raises(ValidationError) as nameless:
        services.attachment_upload(actor=as_alice, record=ann, file=ContentFile(PDF, name="/.."))

    assert "empty" in refusal(empty)
    assert "needs a name" in refusal(nameless)
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("name", "content", "browser_type"),
    [
        # A program renamed to look like a document: the bytes tell.
        ("invoice.pdf", EXE, "application/pdf"),
        # Pages and drawings that could run scripts, whatever the browser claims.
        ("page.html", HTML, "application/pdf"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
        # Nothing recognisable, no known name.
        ("blob.bin", b"\x00\x01\x02", "application/pdf"),
    ],
)
def test_types_outside_the_allowlist_are_refused(as_alice, ann, media, name, content, browser_type):
    with pytest.raises(ValidationError) as error:
        services.attachment_upload(
            actor=as_alice, record=ann, file=upload(name, content, browser_type)
        )

    assert "not accepted" in refusal(error)
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", b"Call back on Monday.\n", "text/plain"),
        ("leads.csv", b"name,email\nAnn,ann@example.com\n", "text/csv"),
        # Bytes beat the name: a PNG saved as .jpg is a PNG.
        ("photo.jpg", PNG, "image/png"),
        (
            "report.docx",
            office_file("[Content_Types].xml", "_rels/.rels", "word/document.xml"),
            DOCX,
        ),
        # A layout filetype does not look into: the archive's name says which document.
        ("memo.docx", office_file("customXml/item1.xml", "word/document.xml"), DOCX),
    ],
)
def test_the_type_comes_from_the_bytes_else_from_the_name(as_alice, ann, name, content, expected):
    version = services.attachment_upload(
        actor=as_alice, record=ann, file=upload(name, content, "application/octet-stream")
    )

    assert version.content_type == expected


def test_the_allowlist_is_configurable_with_families(as_alice, ann, settings):
    settings.ATTACHMENT_TYPES = ["image/*"]

    version = services.attachment_upload(actor=as_alice, record=ann, file=upload("a.png", PNG))
    with pytest.raises(ValidationError):
        services.attachment_upload(actor=as_alice, record=ann, file=upload("offer.pdf"))

    assert version.content_type == "image/png"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\ann\\Offer 2024.pdf", "Offer 2024.pdf"),
        ("../../etc/passwd", "passwd"),
        ("bad\r\nname\t.pdf", "bad name .pdf"),
        ("invoice\u202efdp.exe", "invoice fdp.exe"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("..", ""),
    ],
)
def test_names_are_made_safe_to_show_and_to_send_back(raw, clean):
    assert clean_name(raw) == clean


def test_a_teammate_who_may_only_see_the_record_may_not_attach(bob, ann, media):
    as_bob = Actor(user=bob, source=Source.UI)

    with pytest.raises(PermissionDenied):
        services.attachment_upload(actor=as_bob, record=ann, file=upload())

    assert stored_files(media) == []


def test_a_record_the_user_cannot_see_does_not_exist_for_them(charlie, ann, as_alice, media):
    as_charlie = Actor(user=charlie, source=Source.UI)
    version = services.attachment_upload(actor=as_alice, record=ann, file=upload())

    with pytest.raises(Http404):
        services.attachment_upload(actor=as_charlie, record=ann, file=upload("other.pdf"))
    with pytest.raises(Http404):
        services.attachment_delete(version.attachment, actor=as_charlie)

    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_a_record_in_the_trash_takes_no_attachments(as_alice, ann, media):
    contacts.contact_delete(ann, actor=as_alice)
    ann.refresh_from_db()

    with pytest.raises(Http404):
        services.attachment_upload(actor=as_alice, record=ann, file=upload())

    assert stored_files(media) == []


def test_a_failing_transaction_leaves_no_file_and_no_row(as_alice, ann, media, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "audit_log", broken_audit)

    with pytest.raises(RuntimeError):
        services.attachment_upload(actor=as_alice, record=ann, file=upload())

    assert not Attachment.objects.exists()
    assert not AttachmentVersion.objects.exists()
    assert stored_files(media) == []


def test_delete_removes_every_version_and_its_files_once_committed(
    as_alice, ann, media, django_capture_on_commit_callbacks
):
    services.attachment_upload(actor=as_alice, record=ann, file=upload())
    version = services.attachment_upload(actor=as_alice, record=ann, file=upload())
    attachment = version.attachment

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.attachment_delete(attachment, actor=as_alice)
    assert len(stored_files(media)) == 2  # still there until the delete commits
    for callback in callbacks:
        callback()

    assert not Attachment.objects.exists()
    assert not AttachmentVersion.objects.exists()
    assert stored_files(media) == []
    entry = attachment_audit.get(object_id=str(attachment.pk), action=AuditAction.PURGE)
    assert entry.changes["name"] == ["offer.pdf", None]
    assert OutboxEvent.objects.filter(name="attachment.deleted").count() == 1


def test_a_teammate_who_may_only_see_the_record_may_not_delete(bob, as_alice, ann, media):
    version = services.attachment_upload(actor=as_alice, record=ann, file=upload())

    with pytest.raises(PermissionDenied):
        services.attachment_delete(version.attachment, actor=Actor(user=bob, source=Source.UI))

    assert Attachment.objects.count() == 1


def test_purging_a_record_deletes_its_attachments_and_files(
    as_alice, as_admin, ann, media, django_capture_on_commit_callbacks
):
    services.attachment_upload(actor=as_alice, record=ann, file=upload())
    other = contacts.contact_create(actor=as_alice, values={"first_name": "Bea"})
    services.attachment_upload(actor=as_alice, record=other, file=upload("kept.pdf"))
    contacts.contact_delete(ann, actor=as_alice)
    ann.refresh_from_db()

    # The dispatcher delivers contact.purged; the files go once the handler commits.
    with django_capture_on_commit_callbacks(execute=True):
        record_purge(ann, actor=as_admin)
        dispatch_until_empty(worker_id="test")

    assert list(Attachment.objects.values_list("name", flat=True)) == ["kept.pdf"]
    assert len(stored_files(media)) == 1
