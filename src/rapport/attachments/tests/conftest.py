"""Fixtures of the attachment tests: a media dir of each test's own, records of
alice's, and files of the kinds people attach."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.contacts import services as contacts
from rapport.contacts.models import Contact

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def office_file(first_entry: str, *entries: str) -> bytes:
    """A ZIP laid out as office suites write theirs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in (first_entry, *entries):
            archive.writestr(entry, "<xml/>")
    return buffer.getvalue()


def upload(name: str = "offer.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    """A file as a browser sends it; ``content_type`` is the browser's claim."""
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file())


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Each test stores files in its own media dir."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    }
    return settings.MEDIA_ROOT


@pytest.fixture
def ann(as_alice) -> Contact:
    """Alice's contact: her teammate bob may see it but not edit it; charlie may not see it."""
    return contacts.contact_create(
        actor=as_alice, values={"first_name": "Ann", "last_name": "Archer"}
    )


@pytest.fixture
def bob_client(bob) -> Client:
    return client_for(bob)


@pytest.fixture
def charlie_client(charlie) -> Client:
    return client_for(charlie)
