"""The address of the client a request comes from, for rate limits and records.

Behind reverse proxies the connection comes from the last proxy, and the client's
address is in ``X-Forwarded-For``. Every proxy appends the address it was reached
from, so only the last ``PROXY_COUNT`` entries were written by proxies we run; the
ones before them are whatever the client sent and must not be believed.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: the connection's, or with ``RAPPORT_PROXY_COUNT`` proxies in
    front, the entry the outermost of them appended to ``X-Forwarded-For``."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if len(forwarded) < proxies:
        # Fewer entries than proxies: the request skipped one of them; the connection's
        # address is the most we know.
        return remote
    return forwarded[-proxies]
