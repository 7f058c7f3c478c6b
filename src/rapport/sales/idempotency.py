"""Idempotent create requests: an API client sends an ``Idempotency-Key`` header, and
the same key sent again (a retry after a lost answer) gets the first answer again —
same status, body and Location — instead of creating a second record.

The key is claimed by inserting its row in the transaction that creates the record,
and the answer is stored in the same transaction. A unique index on (user, key)
settles a race: the second insert waits for the first transaction and then fails,
and the second request replays the answer the first committed. When the first
request fails (bad input), its claim rolls back with it and the key is free again.
A key sent with another body (or to another endpoint) is refused: reusing a key
for a different request is a client error, and guessing what it meant would be
worse.

Keys are kept for ``RETENTION`` (a day, as Stripe does): a retry comes within
minutes; after that the key may be used again. Workers sweep older ones away.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.schedule import every
from rapport.sales.models import IdempotencyKey

if TYPE_CHECKING:
    from rapport.accounts.models import User

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
RETENTION = datetime.timedelta(hours=24)
SWEEP_SECONDS = 3600


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    location: str = ""


class KeyReused(Exception):
    """The key was used before for a different request."""


def fingerprint(endpoint: str, body: bytes) -> str:
    """A digest of the request: its endpoint and its body, as JSON with sorted keys when
    it is JSON (so key order and spacing do not make two requests different)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{endpoint}\n{canonical}".encode()).hexdigest()


def checked_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            {
                HEADER: [
                    _("Send a key of 1 to %(count)d printable characters.")
                    % {"count": MAX_KEY_LENGTH}
                ]
            }
        )
    return key


def once(
    *, user: User, key: str, endpoint: str, request_digest: str, run: Callable[[], Answer]
) -> Answer:
    """``run()``'s answer the first time ``key`` is used by ``user``; that same answer
    every later time. ``KeyReused`` when the key came with another request."""
    key = checked_key(key)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    user=user, key=key, endpoint=endpoint, fingerprint=request_digest
                )
        except IntegrityError:
            return _replay(user, key, endpoint, request_digest)
        answer = run()
        claim.status_code = answer.status
        claim.response = answer.body
        claim.location = answer.location
        claim.save(update_fields=["status_code", "response", "location"])
    return answer


def _replay(user: User, key: str, endpoint: str, request_digest: str) -> Answer:
    first = IdempotencyKey.objects.get(user=user, key=key)
    if first.endpoint != endpoint or first.fingerprint != request_digest:
        raise KeyReused
    return Answer(status=first.status_code, body=first.response, location=first.location)


def forget_old_keys(*, now: datetime.datetime | None = None) -> int:
    """Delete the keys older than ``RETENTION``; how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@every(SWEEP_SECONDS, name="sales.idempotency_keys")
def forget_old_keys_sweep() -> int:
    return forget_old_keys()
