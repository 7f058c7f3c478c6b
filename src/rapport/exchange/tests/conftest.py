from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.actors import Actor
from rapport.exchange.imports import import_configure, import_upload
from rapport.exchange.models import ImportRun

CONTACTS_CSV = (
    "First name,Last name,E-mail,Phone,City,Country,Tags\n"
    "Ada,Lovelace,ADA@example.com ,+44 20 7946 0018,London,United Kingdom,\n"
    "Alan,Turing,alan@example.com,,Manchester,UK,\n"
    "Grace,Hopper,not-an-email,,Arlington,USA,\n"
    "Edsger,Dijkstra,edsger@example.com,,Nuenen,Netherlands,\n"
)


def upload(
    actor: Actor, text: str | bytes, *, name: str = "people.csv", object_type: str = "contacts"
) -> ImportRun:
    content = text.encode() if isinstance(text, str) else text
    return import_upload(
        actor=actor,
        object_type=object_type,
        upload=SimpleUploadedFile(name, content),
        file_name=name,
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Call a service and run the jobs it started, as the worker would after the commit."""

    def call(service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            result = service(*args, **kwargs)
        if hasattr(result, "refresh_from_db"):
            result.refresh_from_db()
        return result

    return call


@pytest.fixture
def uploaded(as_admin) -> Callable[..., ImportRun]:
    def make(text: str | bytes = CONTACTS_CSV, **options) -> ImportRun:
        run = upload(as_admin, text, name=options.pop("name", "people.csv"))
        import_configure(
            run, actor=as_admin, mapping=run.mapping, options={"key": "email", **options}
        )
        return run

    return make


def utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path
