"""The API machinery through HTTP: authentication, problem documents, docs and the audit log."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rapport.accounts import services
from rapport.accounts.models import Team, TokenScope
from rapport.accounts.tokens import token_create, token_revoke
from rapport.core.actors import Actor
from rapport.core.api import PROBLEM_CONTENT_TYPE
from rapport.core.models import AuditEntry, Source

API = "/api/v1"


def token_headers(user, scope: str = TokenScope.READ) -> dict[str, str]:
    _token, raw = token_create(actor=Actor(user=user, source=Source.UI), name="test", scope=scope)
    return {"Authorization": f"Bearer {raw}"}


def assert_problem(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if kind:
        assert body["type"] == f"https://rapport.dev/problems/{kind}"
    return body


# Authentication


def test_read_token_may_read(admin):
    response = Client().get(f"{API}/me", headers=token_headers(admin))

    assert response.status_code == 200
    assert response.json()["email"] == "admin@example.com"


def test_read_token_may_not_write_and_nothing_is_written(admin):
    response = Client().post(
        f"{API}/teams",
        {"name": "North"},
        content_type="application/json",
        headers=token_headers(admin),
    )

    body = assert_problem(response, 403, "forbidden")
    assert "read" in body["detail"]
    assert not Team.objects.filter(name="North").exists()


def test_read_write_token_writes_as_the_api(admin):
    response = Client().post(
        f"{API}/teams",
        {"name": "North"},
        content_type="application/json",
        headers={**token_headers(admin, TokenScope.READ_WRITE), "X-Request-ID": "req-12345678"},
    )

    assert response.status_code == 201
    entry = AuditEntry.objects.get(
        content_type__model="team", object_id=str(response.json()["id"]), action="create"
    )
    assert (entry.source, entry.actor, entry.request_id) == ("api", admin, "req-12345678")


@pytest.mark.parametrize(
    "authorization", ["Bearer rap_nothing_here", "Bearer ", "Bearer not-a-token"]
)
def test_invalid_token_is_401_with_challenge(db, authorization):
    response = Client().get(f"{API}/me", headers={"Authorization": authorization})

    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(admin):
    token, raw = token_create(actor=Actor(user=admin, source=Source.UI), name="old")
    token_revoke(token, actor=Actor(user=admin, source=Source.UI))

    response = Client().get(f"{API}/me", headers={"Authorization": f"Bearer {raw}"})

    assert_problem(response, 401)


def test_no_credentials_is_401_even_on_a_write(db):
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/teams", {"name": "North"}, content_type="application/json"
    )

    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_write_without_csrf_token_is_403(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)

    response = client.post(f"{API}/teams", {"name": "North"}, content_type="application/json")

    assert_problem(response, 403)
    assert not Team.objects.filter(name="North").exists()


def test_session_write_with_csrf_token_succeeds(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    client.get("/api/v1/docs", headers={"Accept": "text/html"})  # sets the CSRF cookie
    csrf_token = client.cookies["csrftoken"].value

    response = client.post(
        f"{API}/teams",
        {"name": "North"},
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token},
    )

    assert response.status_code == 201
    assert Team.objects.filter(name="North").exists()


def test_session_read_needs_no_csrf_token(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)

    assert client.get(f"{API}/me").status_code == 200


# Problems


def test_unknown_path_is_a_404_problem(admin_client):
    assert_problem(admin_client.get(f"{API}/no-such-thing"), 404, "not-found")
    assert_problem(admin_client.get(f"{API}/"), 404, "not-found")


def test_unsupported_method_is_a_405_problem(admin_client):
    response = admin_client.put(f"{API}/me", {}, content_type="application/json")

    assert_problem(response, 405, "method-not-allowed")
    assert "PATCH" in response["Allow"]


def test_malformed_json_is_a_400_problem(admin_client):
    response = admin_client.post(f"{API}/teams", "{not json", content_type="application/json")

    assert_problem(response, 400, "bad-request")


def test_request_validation_is_a_422_problem_with_field_paths(admin_client):
    response = admin_client.post(
        f"{API}/teams",
        {"description": "no name", "members": ["x"]},
        content_type="application/json",
    )

    body = assert_problem(response, 422, "validation")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "members.0"}
    assert all(error["message"] for error in body["errors"])


def test_query_validation_names_the_parameter(admin_client):
    body = assert_problem(admin_client.get(f"{API}/teams?limit=500"), 422, "validation")

    assert [error["field"] for error in body["errors"]] == ["limit"]


def test_a_repeatable_query_parameter_is_named_as_in_the_query_string(admin_client):
    response = admin_client.get(f"{API}/tasks?status=open&status=someday")
    body = assert_problem(response, 422, "validation")

    assert [error["field"] for error in body["errors"]] == ["status"]


def test_unexpected_error_is_a_500_problem_without_details(admin_client, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "team_create", broken)

    response = admin_client.post(f"{API}/teams", {"name": "X"}, content_type="application/json")

    body = assert_problem(response, 500, "server-error")
    assert "secret internals" not in response.content.decode()
    assert response["X-Request-ID"] in body["detail"]
    assert "secret internals" in caplog.text


# Documentation


def test_openapi_description_is_json_with_paths(admin):
    response = Client().get(f"{API}/openapi.json", headers=token_headers(admin))

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert {"/api/v1/me", "/api/v1/teams/{team_id}", "/api/v1/audit"} <= set(schema["paths"])
    team_update = schema["paths"]["/api/v1/teams/{team_id}"]["patch"]
    assert list(team_update["responses"]["412"]["content"]) == [PROBLEM_CONTENT_TYPE]
    assert {"team_id", "If-Match"} <= {param["name"] for param in team_update["parameters"]}


def test_openapi_description_needs_credentials(db):
    assert_problem(Client().get(f"{API}/openapi.json"), 401)


def test_docs_page_uses_bundled_files_only(admin_client):
    response = admin_client.get(f"{API}/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert 'data-api-csrf="true"' in html  # so "Try it out" can write with the session
    assert "cdn" not in html.lower()
    assert 'src="http' not in html
    assert 'href="http' not in html


def test_docs_page_sends_browsers_to_sign_in(db):
    response = Client().get(f"{API}/docs", headers={"Accept": "text/html"})

    assert response.status_code == 302
    assert "next=/api/v1/docs" in response["Location"]


# Audit log


@pytest.fixture
def audit_trail(admin, alice):
    """Two teams created by the admin over the API and one renamed by hand in the UI."""
    as_api = Actor(user=admin, source=Source.API)
    north = services.team_create(actor=as_api, name="North")
    south = services.team_create(actor=as_api, name="South")
    services.team_update(north, actor=Actor(user=admin, source=Source.UI), name="Far North")
    return north, south


def audit(client: Client, query: str = "") -> list[dict]:
    response = client.get(f"{API}/audit{query}")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_audit_lists_newest_first(admin_client, audit_trail):
    items = audit(admin_client)

    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    assert items[0]["object_type"] == "accounts.team"
    assert items[0]["changes"] == {"name": ["North", "Far North"]}


def test_audit_filters(admin_client, audit_trail, admin):
    north, south = audit_trail

    by_object = audit(admin_client, f"?object_type=accounts.team&object_id={north.pk}")
    assert [item["action"] for item in by_object] == ["update", "create"]

    by_source = audit(admin_client, "?object_type=accounts.team&source=api")
    assert {item["object_id"] for item in by_source} == {str(north.pk), str(south.pk)}

    by_action = audit(admin_client, "?object_type=accounts.team&action=update")
    assert [item["object_id"] for item in by_action] == [str(north.pk)]

    assert audit(admin_client, f"?actor={admin.pk}&object_type=accounts.team")
    assert audit(admin_client, "?actor=999999") == []
    assert audit(admin_client, "?object_type=no.such") == []
    assert audit(admin_client, "?since=2999-01-01") == []
    assert audit(admin_client, "?until=2000-01-01") == []
    assert len(audit(admin_client, "?object_type=accounts.team&since=2000-01-01")) == 3


def test_audit_rejects_bad_filters(admin_client):
    body = assert_problem(admin_client.get(f"{API}/audit?action=explode&since=soon"), 422)

    assert {error["field"] for error in body["errors"]} == {"action", "since"}


def test_audit_is_for_admins(alice_client):
    assert_problem(alice_client.get(f"{API}/audit"), 403, "forbidden")


def test_audit_query_count_does_not_grow_with_rows(
    admin_client, admin, django_assert_max_num_queries
):
    as_api = Actor(user=admin, source=Source.API)
    for number in range(30):
        services.team_create(actor=as_api, name=f"Team {number}")

    with django_assert_max_num_queries(5):
        assert len(audit(admin_client, "?limit=25")) == 25
