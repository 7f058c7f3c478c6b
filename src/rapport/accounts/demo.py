"""Demo people and teams: an admin, a sales floor, marketing and support.

Every demo account signs in with ``DEMO_PASSWORD``. Names are drawn from the
seed, so the same seed builds the same workspace.
"""

from __future__ import annotations

import random

from rapport.accounts import services
from rapport.accounts.models import Role, User
from rapport.core.actors import Actor
from rapport.core.models import Source

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_PASSWORD = "rapport-demo"
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Fatima",
    "Giulia",
    "Hiro",
    "Ines",
    "Jonas",
    "Kwame",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST_NAMES = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "García",
    "Novak",
    "Rossi",
    "Schmidt",
    "Haddad",
    "Kowalski",
    "Nguyen",
    "Fischer",
    "Silva",
    "Dubois",
    "Ivanova",
    "Murphy",
]
TIMEZONES = ["Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]
TEAMS = [
    ("North", "Accounts in the northern region."),
    ("South", "Accounts in the southern region."),
    ("Customer care", "Support and success."),
]
# (role slug, team index or None, how many)
STAFF = [
    ("sales-manager", 0, 1),
    ("sales-rep", 0, 3),
    ("sales-manager", 1, 1),
    ("sales-rep", 1, 3),
    ("marketer", None, 2),
    ("support-agent", 2, 3),
    ("read-only", None, 1),
]


def demo_admin() -> User:
    """The workspace's first admin: nobody exists yet to create it through the services."""
    admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
    if admin is None:
        admin = User.objects.create_user(
            username="admin",
            email=DEMO_ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            first_name="Avery",
            last_name="Admin",
            role=Role.objects.get(slug="admin"),
        )
    return admin


def load(*, seed: int) -> None:
    rng = random.Random(seed)
    actor = Actor(user=demo_admin(), source=Source.CLI)
    teams = [services.team_create(actor=actor, name=name, description=text) for name, text in TEAMS]
    used: set[str] = set()
    for role_slug, team_index, count in STAFF:
        role = Role.objects.get(slug=role_slug)
        for _number in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}".lower().translate(str.maketrans("éí", "ei")) + "@example.com"
            if email in used:
                continue
            used.add(email)
            user = services.user_create(
                actor=actor,
                email=email,
                first_name=first,
                last_name=last,
                role=role,
                teams=[teams[team_index]] if team_index is not None else [],
                password=DEMO_PASSWORD,
                timezone=rng.choice(TIMEZONES),
            )
            if role_slug == "sales-manager" and team_index is not None:
                services.team_update(teams[team_index], actor=actor, manager=user)
