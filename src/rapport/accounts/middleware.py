from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Shows times in the signed-in user's time zone and pages in their language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class SessionIdleTimeoutMiddleware:
    """Logs out a session unused for ``SESSION_IDLE_TIMEOUT`` seconds (0: never).

    The time of the last request is kept in the session itself, so it works with any
    session backend; it is written at most once a minute, not on every request."""

    LAST_SEEN_KEY = "accounts:last_seen"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        idle_limit = settings.SESSION_IDLE_TIMEOUT
        if idle_limit and request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(self.LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > idle_limit:
                logout(request)
            elif last_seen is None or now - last_seen >= min(60, idle_limit // 2):
                request.session[self.LAST_SEEN_KEY] = now
        return self.get_response(request)
