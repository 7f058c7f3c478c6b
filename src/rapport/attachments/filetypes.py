"""What a file is: its content type from its bytes where they carry a signature,
from its name otherwise; and whether the configured allowlist accepts it.

The type the browser sends is never trusted: it comes from the file's name on
the client at best, and from whoever wrote the request at worst.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import Iterable

import filetype
from django.core.files import File

from rapport.attachments.models import NAME_MAX_LENGTH

# Enough for every signature ``filetype`` knows, office documents included.
HEAD_BYTES = 8192
UNKNOWN_TYPE = "application/octet-stream"

# Office and OpenDocument files are ZIP archives; when ``filetype`` cannot see
# which kind from the first entries it says ZIP, and the name tells which.
ZIP_DOCUMENT_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}


def _name_table() -> mimetypes.MimeTypes:
    """Python's built-in extension table plus common types it lacks. The system's
    /etc/mime.types is not read: it differs between machines."""
    table = mimetypes.MimeTypes()
    extra = ZIP_DOCUMENT_TYPES | {
        ".rtf": "application/rtf",
        ".md": "text/markdown",
        ".webp": "image/webp",
        ".ics": "text/calendar",
        ".vcf": "text/vcard",
    }
    for extension, content_type in extra.items():
        table.add_type(content_type, extension)
    return table


NAME_TABLE = _name_table()


def clean_name(raw: str) -> str:
    """The name to show and to send back on download: the last part of a path, in
    Unicode NFC, without control or direction-changing characters (which can make
    ``evil\u202efdp.exe`` read as ``evilexe.pdf``), at most ``NAME_MAX_LENGTH``
    characters with the extension kept."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(" " if unicodedata.category(char)[0] in "CZ" else char for char in name)
    name = " ".join(name.split())
    return "" if name in (".", "..") else _shorten(name, NAME_MAX_LENGTH)


def _shorten(name: str, max_length: int) -> str:
    if len(name) <= max_length:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return name[:max_length]
    return stem[: max_length - len(extension) - 1] + "." + extension


def type_from_name(name: str) -> str | None:
    return NAME_TABLE.guess_type(name, strict=False)[0]


def detect_content_type(file: File, name: str) -> str:
    """The content type of ``file``: from its first bytes when they carry a known
    signature, else from ``name`` (plain text, CSV… carry none); unknown names
    are ``application/octet-stream``."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    named = type_from_name(name)
    found = filetype.guess(bytes(head))
    if found is None:
        return named or UNKNOWN_TYPE
    if found.mime == "application/zip" and named in ZIP_DOCUMENT_TYPES.values():
        return named
    return found.mime


def is_allowed(content_type: str, allowed: Iterable[str]) -> bool:
    """Whether ``content_type`` is one of ``allowed`` or in a family (``image/*``) there."""
    family = content_type.split("/", 1)[0] + "/*"
    return any(pattern in (content_type, family) for pattern in allowed)
