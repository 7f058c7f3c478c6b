"""IDOR attempts through HTTP, generated from the URL patterns and the OpenAPI
description: another team's record, by id, in every page and API operation that takes
one answers 404 to alice (a sales rep, whose role sees her team's records), and the
record is unchanged.

Every pattern with an id must be mapped below to the record it names, or listed as an
admin settings page (refused to alice whatever the id) or as a page open to everyone
by design; a new pattern that is none of these fails the first test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from rapport.testing.records import one_of_each
from rapport.testing.routes import Route, api_operations, fill_api_path, routes

Records = dict[str, Any]
Value = Callable[[Records], object] | object


def pk_of(key: str) -> Callable[[Records], int]:
    return lambda records: records[key].pk


def record(key: str, **parameters: Value) -> dict[str, Value]:
    """The page names ``key``'s record by ``pk``, its other parameters as given."""
    return {"pk": pk_of(key), **parameters}


def generic(key: str, label: str, **parameters: Value) -> dict[str, Value]:
    """The page names ``key``'s record by object type and id."""
    return {"object_type": label, "object_id": pk_of(key), **parameters}


# Pages, by pattern name: the record each names.
PAGE_RECORDS: dict[str, dict[str, Value]] = {
    "core:job_detail": record("job"),
    "core:job_progress": record("job"),
    "core:job_cancel": record("job"),
    "core:job_download": record("job"),
    "core:trash_restore": generic("trashed", "contacts.contact"),
    "core:trash_purge": generic("trashed", "contacts.contact"),
    "core:history": generic("contact", "contacts.contact"),
    "accounts:token_revoke": record("token"),
    "contacts:company_detail": record("company"),
    "contacts:company_edit": record("company"),
    "contacts:company_delete": record("company"),
    "contacts:company_field": record("company", name="name"),
    "contacts:contact_detail": record("contact"),
    "contacts:contact_edit": record("contact"),
    "contacts:contact_delete": record("contact"),
    "contacts:contact_field": record("contact", name="first_name"),
    "contacts:saved_view_edit": record("saved_view"),
    "contacts:saved_view_update": record("saved_view"),
    "contacts:saved_view_delete": record("saved_view"),
    "contacts:list_detail": record("list"),
    "contacts:list_edit": record("list"),
    "contacts:list_delete": record("list"),
    "contacts:list_remove_member": record("list", contact_pk=pk_of("contact")),
    "activities:detail": record("activity"),
    "activities:delete": record("activity"),
    "activities:timeline": generic("contact", "contacts.contact"),
    "activities:log": generic("contact", "contacts.contact", kind="note"),
    "attachments:download": record("attachment"),
    "attachments:download_version": record("attachment", number=1),
    "attachments:delete": record("attachment"),
    "attachments:list": generic("contact", "contacts.contact"),
    "attachments:upload": generic("contact", "contacts.contact"),
    "notifications:open": record("notification"),
    "notifications:read": record("notification"),
    "tasks:task_detail": record("task"),
    "tasks:task_edit": record("task"),
    "tasks:task_complete": record("task"),
    "tasks:task_delete": record("task"),
    "mail:template_edit": record("template"),
    "mail:template_delete": record("template"),
    "mail:compose": {"contact_id": pk_of("contact")},
    "mail:delivery": record("email"),
    "mail:retry": record("email"),
    "mail:reply": record("email_activity"),
    "mail:mailbox_edit": record("mailbox"),
    "mail:mailbox_sync": record("mailbox"),
    "mail:mailbox_disconnect": record("mailbox"),
    "calendar:meeting_ics": record("meeting"),
    "sales:deal_detail": record("deal"),
    "sales:deal_edit": record("deal"),
    "sales:deal_move": record("deal"),
    "sales:deal_won": record("deal"),
    "sales:deal_lost": record("deal"),
    "sales:deal_reopen": record("deal"),
    "sales:deal_delete": record("deal"),
    "sales:deal_line_items": record("deal"),
    "sales:deal_add_participant": record("deal"),
    "sales:deal_remove_participant": record("deal", contact_id=pk_of("contact")),
    "sales:order_detail": record("order"),
    "sales:order_transition": record("order"),
    "sales:quote_detail": record("quote"),
    "sales:quote_edit": record("quote"),
    "sales:quote_download": record("quote"),
    "sales:quote_send": record("quote"),
    "sales:quote_mark_sent": record("quote"),
    "sales:quote_record_answer": record("quote"),
    "sales:lead_detail": record("lead"),
    "sales:lead_edit": record("lead"),
    "sales:lead_delete": record("lead"),
    "sales:lead_convert": record("lead"),
    "exchange:import_detail": record("import_run"),
    "exchange:import_status": record("import_run"),
    "exchange:import_failures": record("import_run"),
    "exchange:import_action": record("import_run", action="start"),
    "exchange:mapping_delete": record("mapping"),
    "exchange:contact_vcard": record("contact"),
    "sales:order_edit": record("order"),
    "core:share_add": generic("contact", "contacts.contact"),
    "core:share_remove": generic("contact", "contacts.contact", share_id=1),
    "privacy:consent_record": record("contact"),
    "privacy:export_start": record("contact"),
}

# Settings pages: for admins only, so alice is refused whatever the id.
ADMIN_PAGES = {
    "core:customfield_edit",
    "core:customfield_delete",
    "accounts:user_edit",
    "accounts:user_invite",
    "accounts:team_edit",
    "accounts:team_delete",
    "accounts:role_edit",
    "accounts:role_delete",
    "contacts:tag_edit",
    "contacts:tag_delete",
    "contacts:duplicate_dismiss",
    "sales:pipeline_edit",
    "sales:stage_create",
    "sales:stage_edit",
    "sales:stage_shift",
    "sales:stage_delete",
    "sales:lost_reason_edit",
    "sales:price_book_detail",
    "sales:price_book_set_price",
    "sales:price_book_remove_price",
    "sales:price_book_delete",
    "sales:rate_delete",
    "sales:currency_edit",
    "sales:webform_edit",
    "sales:webform_delete",
    "sales:scoring_rule_edit",
    "sales:scoring_rule_delete",
    "sales:routing_rule_edit",
    "sales:routing_rule_delete",
    "accounts:user_two_factor_reset",
    "privacy:erase",
    "privacy:policy_edit",
    "privacy:policy_enable",
    "privacy:policy_delete",
}

# The product catalogue is shared by everyone who sells (docs/sales.md): alice sees
# another team's product, and may change it only as her role allows (not at all).
CATALOGUE_PAGES = {
    "sales:product_detail",
    "sales:product_edit",
    "sales:product_adjust_stock",
    "sales:product_delete",
}

# Open to everyone by design, showing only what the visitor may see: a pipeline's board
# (its deals scoped), links carrying their own secret, the export of a record type.
OPEN_PAGES = {
    "sales:board",
    "sales:board_column",
    "sales:quote_public",
    "sales:quote_public_answer",
    "sales:webform_public",
    "calendar:feed",
    "accounts:password_reset_confirm",
    "exchange:export_start",
}


def page_routes() -> list[Route]:
    return [route for route in routes() if route.parameters and not route.name.startswith("api:")]


def test_every_page_with_an_id_is_mapped():
    names = {route.name for route in page_routes()}
    known = PAGE_RECORDS.keys() | ADMIN_PAGES | CATALOGUE_PAGES | OPEN_PAGES
    unmapped = names - known
    stale = known - names

    assert unmapped == set(), "map these patterns in test_idor.py"
    assert stale == set()


# Charlie's records, in the west team


@pytest.fixture
def records(charlie, admin, settings, tmp_path) -> Records:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BASE_CURRENCY = "USD"
    return one_of_each(charlie, admin)


def fingerprint(records: Records) -> dict[str, tuple]:
    """What a forged request could change: every record's row, as it is."""
    return {
        key: tuple(
            (field.attname, getattr(type(obj)._base_manager.get(pk=obj.pk), field.attname))
            for field in obj._meta.concrete_fields
            if field.attname not in ("last_used_at",)
        )
        for key, obj in records.items()
        if hasattr(type(obj), "objects")
    }


def resolve(values: dict[str, Value], records: Records) -> dict[str, object]:
    return {name: value(records) if callable(value) else value for name, value in values.items()}


PAGES = sorted(PAGE_RECORDS.items())


@pytest.mark.parametrize(("name", "values"), PAGES, ids=[name for name, _ in PAGES])
def test_another_teams_record_is_not_found_on_any_page(alice_client, records, name, values):
    route = next(route for route in page_routes() if route.name == name)
    path = route.fill(resolve(values, records))
    before = fingerprint(records)

    answers = {method: alice_client.generic(method, path).status_code for method in ("GET", "POST")}

    # A method the view does not take is refused before any lookup (405): it tells
    # nothing. Every page looks the record up for one of them.
    assert set(answers.values()) <= {404, 405} and 404 in answers.values(), (path, answers)
    assert fingerprint(records) == before


@pytest.mark.parametrize("name", sorted(ADMIN_PAGES))
def test_settings_pages_are_refused_to_non_admins(alice_client, name):
    route = next(route for route in page_routes() if route.name == name)

    for method in ("GET", "POST"):
        assert alice_client.generic(method, route.fill()).status_code in (403, 404, 405), (
            route.route
        )


@pytest.mark.parametrize("name", sorted(CATALOGUE_PAGES))
def test_another_teams_product_may_be_read_but_not_changed(alice_client, records, name):
    route = next(route for route in page_routes() if route.name == name)
    path = route.fill({"pk": records["product"].pk})
    before = fingerprint(records)

    changed = alice_client.post(path, {"name": "Mine now", "change": "5", "reason": "x"})

    # Refused (403, 405), or the page shown again (the detail page takes no post).
    assert changed.status_code in (200, 403, 405)
    assert alice_client.get(path).status_code in (200, 403, 405)
    assert fingerprint(records) == before


def test_the_board_shows_no_other_teams_deal(alice_client, records):
    deal = records["deal"]
    board = alice_client.get(f"/pipelines/{deal.pipeline_id}/")
    column = alice_client.get(f"/pipelines/{deal.pipeline_id}/stages/{deal.stage_id}/cards/")

    assert board.status_code == column.status_code == 200
    assert b"West deal" not in board.content + column.content


# The API, by path parameter: the record each names.
API_PARAMETERS: dict[str, str] = {
    "company_id": "company",
    "contact_id": "contact",
    "list_id": "list",
    "activity_id": "activity",
    "attachment_id": "attachment",
    "notification_id": "notification",
    "task_id": "task",
    "email_id": "email",
    "template_id": "template",
    "deal_id": "deal",
    "order_id": "order",
    "quote_id": "quote",
    "lead_id": "lead",
    "import_id": "import_run",
    "job_id": "job",
}
# The timeline of each kind of record, by the path's first segment.
API_TIMELINES = {"companies": "company", "contacts": "contact", "deals": "deal"}
# Admin settings (refused to alice) and the public web form, named by its secret key.
API_ADMIN_PARAMETERS = {
    "user_id",
    "role_id",
    "team_id",
    "tag_id",
    "field_id",
    "candidate_id",
    "price_book_id",
    "code",
    "rate_id",
    "pipeline_id",
    "stage_id",
    "form_id",
    "rule_id",
    "key",
}
API_EXTRA = {"number": 1, "share_id": 1}
# Operations on any record name it by object type and id; a contact stands for them.
API_GENERIC = {"object_type": "contacts.contact"}
# The shared product catalogue, see CATALOGUE_PAGES.
API_CATALOGUE_PARAMETERS = {"product_id"}


def api_record(path: str) -> str | None:
    """The record an operation's path names, by its first parameter."""
    first = path.split("{", 1)[1].split("}", 1)[0] if "{" in path else None
    if first == "record_id":
        return API_TIMELINES[path.split("/")[3]]
    if first == "object_type":
        return "contact"
    return API_PARAMETERS.get(first) if first else None


API_OPERATIONS = [
    (method, path)
    for method, path, operation in api_operations()
    if "{" in path and api_record(path) is not None
]


def test_every_api_operation_with_an_id_is_mapped():
    parameters = {
        name.strip("{}")
        for _method, path, _operation in api_operations()
        for name in path.split("/")
        if name.startswith("{")
    }
    unmapped = (
        parameters
        - API_PARAMETERS.keys()
        - API_ADMIN_PARAMETERS
        - API_CATALOGUE_PARAMETERS
        - {"record_id", "number", "object_type", "object_id", "share_id"}
    )

    assert unmapped == set()
    assert len(API_OPERATIONS) > 40


def api_call(client: Client, method: str, url: str):
    client.get("/")  # for the CSRF cookie
    return client.generic(
        method,
        url,
        "{}",
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_another_teams_record_is_not_found_in_the_api(alice_client, records, method, path):
    key = api_record(path)
    values = {name: records[key].pk for name in API_PARAMETERS if API_PARAMETERS[name] == key}
    generic = {**API_GENERIC, "object_id": records[key].pk}
    url = fill_api_path(path, {"record_id": records[key].pk, **values, **generic, **API_EXTRA})
    missing = fill_api_path(
        path,
        {"record_id": 10**9, **dict.fromkeys(values, 10**9), **generic, "object_id": 10**9}
        | API_EXTRA,
    )
    before = fingerprint(records)

    response = api_call(alice_client, method, url)

    # An empty body an operation refuses (422) is refused before any lookup, the same
    # for a record that does not exist: it tells nothing either.
    if response.status_code != 404:
        assert response.status_code == 422, (method, url, response.content[:200])
        assert api_call(alice_client, method, missing).status_code == 422
    assert fingerprint(records) == before


API_CATALOGUE_WRITES = [
    (method, path)
    for method, path, _operation in api_operations()
    if path.startswith("/api/v1/products/{product_id}") and method != "GET"
]


@pytest.mark.parametrize(("method", "path"), API_CATALOGUE_WRITES)
def test_another_teams_product_may_not_be_changed_in_the_api(alice_client, records, method, path):
    before = fingerprint(records)

    response = api_call(
        alice_client, method, fill_api_path(path, {"product_id": records["product"].pk})
    )

    assert response.status_code in (403, 422)
    assert fingerprint(records) == before
