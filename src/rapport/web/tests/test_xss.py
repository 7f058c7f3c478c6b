"""Stored XSS through HTTP, generated from the models and the URL patterns: a payload in
every text field of every record renders escaped on every page alice can open, list,
detail, fragments, timeline, kanban, search and notifications alike.

The payload is written into the rows directly (as an import or the API could store
it), field by field as the models describe them, so a field added later is covered.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.utils.html import escape

from rapport.core import search
from rapport.testing.records import one_of_each
from rapport.testing.routes import routes
from rapport.web.tests.test_idor import PAGE_RECORDS, resolve

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
# For fields too short for the payload.
SHORT_PAYLOAD = "<u>xss</u>'\""
# What must never reach a page unescaped.
RAW_MARKERS = (b"<script>alert(1)", b"<img src=x onerror", b"<u>xss</u>")
# Its escaped start, which a shortened text (truncatechars) still shows.
ESCAPED = escape(PAYLOAD).encode()[:22]

# Rows that are machinery, never shown as text.
SKIPPED_MODELS = {
    "core.auditentry",
    "core.outboxevent",
    "core.searchentry",
    "core.searchterm",
    "core.throttlecounter",
    "core.workerheartbeat",
    "sales.idempotencykey",
    "sales.numbersequence",
}
# Text fields the code reads as identifiers, not prose: a payload there breaks lookups,
# not pages.
SKIPPED_FIELDS = {
    "password",
    "username",
    "object_type",
    "kind",
    "prefix",
    "digest",
    "message_id",
    "in_reply_to",
    "public_key",
    "public_token_digest",
    "content_type",
    "storage_name",
    "sha256",
    "key",
    "host",
    "language",
    "timezone",
    "external_id",
    "uid",
}


def text_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField))
        and not isinstance(field, (models.EmailField, models.URLField, models.SlugField))
        and not field.choices
        and not field.primary_key
        and field.editable
        and field.name not in SKIPPED_FIELDS
    ]


def store_payload() -> int:
    """Put the payload in every text field of every row; how many fields took it."""
    filled = 0
    for model in apps.get_models():
        if not model.__module__.startswith("rapport.") or model._meta.label_lower in SKIPPED_MODELS:
            continue
        fields = text_fields(model)
        for pk in model._base_manager.values_list("pk", flat=True):
            values = {}
            for field in fields:
                # A suffix keeps values unique where a constraint wants them so.
                value = f"{PAYLOAD} {pk}"
                if field.max_length and field.max_length < len(value):
                    value = SHORT_PAYLOAD
                if field.max_length and field.max_length < len(value):
                    continue
                values[field.attname] = value
            if values:
                model._base_manager.filter(pk=pk).update(**values)
                filled += len(values)
    for registration in search.registrations():
        search.reindex(registration.model)
    return filled


@pytest.fixture
def stored(alice, admin, settings, tmp_path) -> dict:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BASE_CURRENCY = "USD"
    records = one_of_each(alice, admin)
    assert store_payload() > 100
    return records


def assert_escaped(response, path: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in response.content, (path, marker)


def page_paths(records: dict) -> list[str]:
    """Every page alice can GET: those without parameters, and every page of a record."""
    paths = [
        route.fill()
        for route in routes()
        if not route.parameters and not route.name.startswith("api:") and not route.is_regex
    ]
    by_name = {route.name: route for route in routes()}
    paths += [by_name[name].fill(resolve(values, records)) for name, values in PAGE_RECORDS.items()]
    deal = records["deal"]
    paths += [
        f"/pipelines/{deal.pipeline_id}/",
        f"/pipelines/{deal.pipeline_id}/stages/{deal.stage_id}/cards/",
        f"/products/{records['product'].pk}/",
        "/search/?q=alert",
        "/search/?q=alert&partial=1",
    ]
    return paths


def test_no_page_shows_the_payload_unescaped(stored, alice_client):
    shown = 0
    for path in page_paths(stored):
        response = alice_client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        assert_escaped(response, path)
        shown += ESCAPED in response.content
    assert shown > 40


# Where each kind of record shows its text, the escaped payload is there to see.
SHOWN_ON = {
    "contact": "/contacts/{pk}/",
    "company": "/companies/{pk}/",
    "deal": "/deals/{pk}/",
    "lead": "/leads/{pk}/",
    "product": "/products/{pk}/",
    "quote": "/quotes/{pk}/",
    "order": "/orders/{pk}/",
    "task": "/tasks/{pk}/",
    "activity": "/activities/{pk}/",
    "list": "/lists/{pk}/",
}
LISTS = [
    "/contacts/",
    "/companies/",
    "/deals/",
    "/leads/",
    "/products/",
    "/quotes/",
    "/orders/",
    "/my-work/",
    "/notifications/",
]


def test_each_record_shows_its_text_escaped(stored, alice_client):
    for key, template in SHOWN_ON.items():
        path = template.format(pk=stored[key].pk)
        response = alice_client.get(path)

        assert response.status_code == 200, path
        assert ESCAPED in response.content, path


@pytest.mark.parametrize("path", LISTS)
def test_lists_show_the_text_escaped(stored, alice_client, path):
    response = alice_client.get(path)

    assert response.status_code == 200
    assert_escaped(response, path)
    assert ESCAPED in response.content


def test_the_timeline_kanban_and_search_show_it_escaped(stored, alice_client):
    contact, deal = stored["contact"], stored["deal"]
    for path in (
        f"/timeline/contacts.contact/{contact.pk}/",
        f"/pipelines/{deal.pipeline_id}/",
        "/search/?q=alert",
    ):
        response = alice_client.get(path)

        assert response.status_code == 200, path
        assert_escaped(response, path)
        assert ESCAPED in response.content, path
