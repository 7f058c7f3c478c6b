"""What the home page shows an admin: the state of the system and the first steps left."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import ApiToken, Team, User
from rapport.core import health


@dataclass(frozen=True)
class Step:
    label: str | Promise
    done: bool
    url: str


def getting_started(user: User) -> list[Step]:
    return [
        Step(
            _("Invite your colleagues"), User.objects.count() > 1, reverse("accounts:user_create")
        ),
        Step(_("Create a team"), Team.objects.exists(), reverse("accounts:team_create")),
        Step(
            _("Create an API token for integrations"),
            ApiToken.objects.filter(user=user).exists(),
            reverse("accounts:profile") + "#tokens",
        ),
    ]


def admin_status() -> dict:
    return {
        "users": User.objects.filter(is_active=True).count(),
        "teams": Team.objects.count(),
        "health": health.report(),
    }
