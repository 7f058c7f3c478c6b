"""ETags from a record's ``version``: conditional reads and optimistic writes.

A record's ETag is ``W/"<version>"`` (weak: it names the record's state, not
the bytes of one representation). ``If-None-Match`` on a read answers 304 when
the client's copy is current; ``If-Match`` on a write names the version the
client read, and the service refuses the write with ``VersionConflict`` if the
record has moved on. A write without ``If-Match`` is allowed (last write wins).
"""

from __future__ import annotations

import re
from typing import Protocol

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

# One entity tag, weak or strong, whose opaque part is a version number.
VERSION_TAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


class Versioned(Protocol):
    version: int


class MalformedPrecondition(ValueError):
    """An ``If-Match`` header that does not name one version of this record."""


def etag_for(obj: Versioned) -> str:
    return f'W/"{obj.version}"'


def set_etag(response: HttpResponse, obj: Versioned) -> None:
    response["ETag"] = etag_for(obj)


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def is_not_modified(request: HttpRequest, obj: Versioned) -> bool:
    """Whether ``If-None-Match`` names the record's current version (weak comparison)."""
    header = request.headers.get("If-None-Match", "")
    current = str(obj.version)
    for tag in _tags(header):
        if tag == "*":
            return True
        match = VERSION_TAG.match(tag)
        if match and match.group(1) == current:
            return True
    return False


def conditional_read(
    request: HttpRequest, response: HttpResponse, obj: Versioned
) -> Versioned | HttpResponseNotModified:
    """``obj`` with its ETag set on ``response``, or a 304 if the client's copy is current."""
    if is_not_modified(request, obj):
        not_modified = HttpResponseNotModified()
        set_etag(not_modified, obj)
        return not_modified
    set_etag(response, obj)
    return obj


def expected_version(request: HttpRequest) -> int | None:
    """The version ``If-Match`` names, for a service's ``expected_version``.

    ``None`` when the header is absent or ``*`` (any current version). Anything
    else than a single ``W/"<n>"`` or ``"<n>"`` raises ``MalformedPrecondition``.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = VERSION_TAG.match(header.strip())
    if match is None:
        raise MalformedPrecondition('If-Match must be one entity tag such as W/"3".')
    return int(match.group(1))
