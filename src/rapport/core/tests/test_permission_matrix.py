"""The permission matrix, generated from the role definitions: every role (the shipped
ones of accounts' migration 0002 and a custom one) by every object type with pages and
an API by every action by a record of one's own, of a teammate's and of another team's,
through the record pages, the API, search and export.

What each cell expects is worked out here from the role's grants alone (own reaches
one's own records, team also a teammate's, all every record), not from
``core.permissions``: 404 where the role may not view the record, 403 where it may view
but not do the action, success otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from rapport.accounts.models import Role, User
from rapport.contacts import services as contacts
from rapport.contacts.exports import EXPORTABLES
from rapport.core.actors import Actor
from rapport.core.models import Job, JobStatus, Record, Source
from rapport.sales import deals, leads
from rapport.sales import services as sales

pytestmark = pytest.mark.django_db

DEFAULT_ROLES = importlib.import_module("rapport.accounts.migrations.0002_default_roles")
CUSTOM_ROLE = {
    "*": {action: "none" for action in ("view", "create", "edit", "delete", "export")},
    "contacts.contact": {"view": "own", "edit": "own", "delete": "none", "export": "own"},
    "contacts.company": {"view": "team", "edit": "own", "delete": "team", "export": "all"},
    "sales.deal": {"view": "all", "edit": "team", "delete": "own", "export": "none"},
    "sales.lead": {"view": "none", "edit": "all", "delete": "all", "export": "all"},
    "sales.product": {"view": "all", "edit": "none", "delete": "none", "export": "team"},
}
ROLES = [slug for slug, *_rest in DEFAULT_ROLES.DEFAULT_ROLES] + ["custom"]
# Whose record: the reader's, a teammate's, another team's.
RELATIONS = ("own", "team", "other")


@dataclass(frozen=True)
class ObjectType:
    label: str
    plural: str  # URL segment of the pages and the API, and the export's name
    create: Callable[[Actor, User, str], Record]


OBJECT_TYPES = [
    ObjectType(
        "contacts.company",
        "companies",
        lambda actor, owner, word: contacts.company_create(
            actor=actor, values={"name": word, "owner": owner}
        ),
    ),
    ObjectType(
        "contacts.contact",
        "contacts",
        lambda actor, owner, word: contacts.contact_create(
            actor=actor, values={"first_name": word, "owner": owner}
        ),
    ),
    ObjectType(
        "sales.lead",
        "leads",
        lambda actor, owner, word: leads.lead_create(
            actor=actor, values={"last_name": word, "owner": owner}
        ),
    ),
    ObjectType(
        "sales.deal",
        "deals",
        lambda actor, owner, word: deals.deal_create(
            actor=actor, values={"name": word, "amount": "10", "owner": owner}
        ),
    ),
    ObjectType(
        "sales.product",
        "products",
        lambda actor, owner, word: sales.product_create(
            actor=actor, values={"sku": word, "name": word, "owner": owner}
        ),
    ),
]


def test_the_matrix_covers_every_exportable_object_type() -> None:
    assert {object_type.plural for object_type in OBJECT_TYPES} == set(EXPORTABLES)


def scope_for(grants: dict[str, dict[str, str]], object_type: str, action: str) -> str:
    row = grants.get(object_type) or grants.get("*") or {}
    return row.get(action, "none")


def reaches(scope: str, relation: str) -> bool:
    return (
        scope == "all"
        or (scope == "team" and relation != "other")
        or (scope == "own" and relation == "own")
    )


def expected(grants: dict, object_type: str, action: str, relation: str, success: int) -> int:
    if not reaches(scope_for(grants, object_type, "view"), relation):
        return 404
    return success if reaches(scope_for(grants, object_type, action), relation) else 403


@pytest.fixture
def reader(alice, slug: str) -> User:
    """Alice (team east) holding the role under test."""
    if slug == "custom":
        role = Role.objects.create(slug="custom", name="Custom", permissions=CUSTOM_ROLE)
    else:
        role = Role.objects.get(slug=slug)
    alice.role = role
    alice.save()
    return alice


def _export(client: Client, object_type: ObjectType, capture: Any) -> tuple[int, str]:
    with capture(execute=True):
        response = client.post(
            "/api/v1/exports",
            {"object_type": object_type.plural, "format": "jsonl"},
            "application/json",
        )
    if response.status_code != 202:
        return response.status_code, ""
    job = Job.objects.get(pk=response.json()["job"])
    assert job.status == JobStatus.SUCCEEDED, job.message
    with job.result_file.open("rb") as handle:
        return 202, handle.read().decode()


@pytest.mark.parametrize("object_type", OBJECT_TYPES, ids=lambda t: t.label)
@pytest.mark.parametrize("slug", ROLES)
def test_permission_matrix(
    slug: str,
    object_type: ObjectType,
    reader: User,
    bob: User,
    charlie: User,
    admin: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The role as the database holds it: later migrations refine the shipped roles.
    grants = reader.role.permissions
    as_admin = Actor(user=admin, source=Source.SYSTEM)
    label, plural = object_type.label, object_type.plural
    owners = {"own": reader, "team": bob, "other": charlie}
    words = {relation: f"Matrix{relation}{object_type.plural}" for relation in RELATIONS}
    records = {
        relation: object_type.create(as_admin, owners[relation], words[relation])
        for relation in RELATIONS
    }
    # Deleted through the pages, while ``records`` are deleted through the API.
    spares = {
        relation: object_type.create(as_admin, owners[relation], f"Spare{relation}{plural}")
        for relation in RELATIONS
    }
    client = Client()
    client.force_login(reader)
    outcomes: dict[str, dict[str, int]] = {}
    wanted: dict[str, dict[str, int]] = {}

    for relation, record in records.items():
        page, api = f"/{plural}/{record.pk}/", f"/api/v1/{plural}/{record.pk}"
        hits = client.get("/api/v1/search", {"q": words[relation]}).json()["groups"]
        found = any(hit["id"] == record.pk for group in hits for hit in group["hits"])
        outcomes[relation] = {
            "page": client.get(page).status_code,
            "edit page": client.get(f"{page}edit/").status_code,
            "api get": client.get(api).status_code,
            "api patch": client.patch(api, {}, "application/json").status_code,
            "search": 200 if found else 404,
        }
        wanted[relation] = {
            "page": expected(grants, label, "view", relation, 200),
            "edit page": expected(grants, label, "edit", relation, 200),
            "api get": expected(grants, label, "view", relation, 200),
            "api patch": expected(grants, label, "edit", relation, 200),
            "search": expected(grants, label, "view", relation, 200),
        }

    status, exported = _export(client, object_type, django_capture_on_commit_callbacks)
    may_export = scope_for(grants, label, "export") != "none"
    assert status == (202 if may_export else 403), slug
    for relation in RELATIONS:
        outcomes[relation]["export"] = 200 if words[relation] in exported else 404
        wanted[relation]["export"] = (
            200
            if reaches(scope_for(grants, label, "view"), relation)
            and reaches(scope_for(grants, label, "export"), relation)
            else 404
        )

    # Deleting last: the other checks read the records.
    for relation, spare in spares.items():
        outcomes[relation]["page delete"] = client.post(
            f"/{plural}/{spare.pk}/delete/", {"version": spare.version}
        ).status_code
        wanted[relation]["page delete"] = expected(grants, label, "delete", relation, 302)
    for relation, record in records.items():
        outcomes[relation]["api delete"] = client.delete(
            f"/api/v1/{plural}/{record.pk}"
        ).status_code
        wanted[relation]["api delete"] = expected(grants, label, "delete", relation, 204)

    assert outcomes == wanted
