from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Signs users in by email address, case-insensitively."""

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[override]
        email = kwargs.get("email", username)
        return super().authenticate(request, username=email, password=password)
