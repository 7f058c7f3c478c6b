"""Who is making a change, and through which door (UI, API, CLI, import…)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import HttpRequest

from rapport.core.logging import current_request_id
from rapport.core.models import Source

if TYPE_CHECKING:
    from rapport.accounts.models import User


@dataclass(frozen=True)
class Actor:
    """Passed to every service that writes, and recorded in audit entries and events."""

    user: User | None
    source: Source
    request_id: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None, source=Source.SYSTEM, request_id=current_request_id.get())

    @classmethod
    def for_request(cls, request: HttpRequest, source: Source = Source.UI) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, source=source, request_id=getattr(request, "request_id", ""))

    @property
    def label(self) -> str:
        if self.user is None:
            return str(self.source.label)
        return self.user.email
