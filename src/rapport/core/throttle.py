"""Fixed-window counters shared by every process: rate limits and lockouts.

A counter is one row per key and window, added to by one upsert (SQLite and
PostgreSQL alike), so it is atomic across web processes and a flood from one
client costs one indexed statement per request and holds up no one else. Keys
are hashed (``counter_key``): no client address, account or token is stored.
"""

from __future__ import annotations

import datetime
import hashlib

from django.db import connection
from django.utils import timezone

from rapport.core.models import ThrottleCounter
from rapport.core.schedule import every

# The longest window a counter may use; rows of windows older than this are deleted.
MAX_WINDOW = datetime.timedelta(days=1)


class Throttled(Exception):
    """Over the limit: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def counter_key(kind: str, *parts: object) -> str:
    """The key of what ``kind`` counts for ``parts`` (a form and an address, an account…):
    ``kind`` stays readable, the parts are hashed."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
    return f"{kind[:30]}:{digest[:48]}"


def window_of(now: datetime.datetime, window: datetime.timedelta) -> datetime.datetime:
    """The start of the fixed window of length ``window`` that ``now`` is in."""
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=datetime.UTC)


def retry_after(now: datetime.datetime, window: datetime.timedelta) -> int:
    """Whole seconds until the window ``now`` is in ends (at least one)."""
    ends = window_of(now, window) + window
    return max(1, int((ends - now).total_seconds()))


def count_hit(key: str, *, window: datetime.timedelta, now: datetime.datetime | None = None) -> int:
    """Add one to ``key``'s counter of the window ``now`` is in; the count so far."""
    start = window_of(now or timezone.now(), window)
    quote = connection.ops.quote_name
    table = quote(ThrottleCounter._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({quote('key')}, {quote('window_start')}, {quote('hits')}) "
        f"VALUES (%s, %s, 1) "
        f"ON CONFLICT ({quote('key')}, {quote('window_start')}) "
        f"DO UPDATE SET {quote('hits')} = {table}.{quote('hits')} + 1 "
        f"RETURNING {quote('hits')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(start)])
        return int(cursor.fetchone()[0])


def hits(key: str, *, window: datetime.timedelta, now: datetime.datetime | None = None) -> int:
    """``key``'s count in the window ``now`` is in, without counting."""
    start = window_of(now or timezone.now(), window)
    counter = ThrottleCounter.objects.filter(key=key, window_start=start).only("hits").first()
    return counter.hits if counter else 0


def reset(key: str) -> None:
    """Forget ``key``'s counts (a successful login clears the failures before it)."""
    ThrottleCounter.objects.filter(key=key).delete()


def throttle(
    key: str, *, limit: int, window: datetime.timedelta, now: datetime.datetime | None = None
) -> None:
    """Count one hit; ``Throttled`` once ``key`` passed ``limit`` hits in this window."""
    now = now or timezone.now()
    if count_hit(key, window=window, now=now) > limit:
        raise Throttled(retry_after=retry_after(now, window))


@every(600)
def forget_old_counters() -> int:
    """Delete the counters of windows long past."""
    deleted, _by_type = ThrottleCounter.objects.filter(
        window_start__lt=timezone.now() - MAX_WINDOW
    ).delete()
    return deleted
