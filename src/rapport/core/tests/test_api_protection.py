"""API protection through HTTP: token scopes on every operation of the OpenAPI
description, rate limits per token and per address, the client address behind
proxies, and CORS."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from rapport.accounts.models import Team, TokenScope
from rapport.config import RateLimit
from rapport.core.client_ip import client_ip
from rapport.core.models import ThrottleCounter
from rapport.core.tests.test_api import API, assert_problem, token_headers
from rapport.testing.routes import api_operations, fill_api_path

# Operations open without sign-in, each with its own protection: the public web form's
# submissions (per-form rate limit and honeypot, see sales.webforms).
PUBLIC_OPERATIONS = {("POST", "/api/v1/web-forms/{key}/submissions")}


WRITE_OPERATIONS = [
    (method, path)
    for method, path, operation in api_operations()
    if method != "GET" and (method, path) not in PUBLIC_OPERATIONS
]


def test_every_operation_is_authenticated_but_the_public_ones():
    unauthenticated = {
        (method, path)
        for method, path, operation in api_operations()
        if not operation.get("security")
    }
    assert unauthenticated == PUBLIC_OPERATIONS


def test_the_description_shows_the_scope_each_operation_needs():
    scopes = {
        (method, path): operation["x-token-scope"]
        for method, path, operation in api_operations()
        if operation.get("security")
    }
    assert len(WRITE_OPERATIONS) > 50
    for key, scope in scopes.items():
        assert scope == ("read" if key[0] == "GET" else "read_write"), key


@pytest.fixture
def read_token(admin) -> dict[str, str]:
    return token_headers(admin, TokenScope.READ)


@pytest.mark.parametrize(("method", "path"), WRITE_OPERATIONS)
def test_a_read_only_token_may_call_no_write_operation(read_token, method, path):
    response = Client().generic(
        method, fill_api_path(path), "{}", content_type="application/json", headers=read_token
    )

    body = assert_problem(response, 403, "forbidden")
    assert body["detail"] == "This token may only read."


def test_a_read_only_token_reads(read_token):
    assert Client().get(f"{API}/teams", headers=read_token).status_code == 200


def test_a_session_is_not_bound_by_token_scopes(admin_client):
    admin_client.get("/")  # for the CSRF cookie
    response = admin_client.post(
        f"{API}/teams",
        {"name": "North"},
        content_type="application/json",
        headers={"X-CSRFToken": admin_client.cookies["csrftoken"].value},
    )

    assert response.status_code == 201
    assert Team.objects.filter(name="North").exists()


# Rate limits


@pytest.fixture
def one_window(monkeypatch) -> datetime.datetime:
    """Stop the clock ten seconds into a minute, so every request falls in one window."""
    now = timezone.now().replace(second=10, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


@pytest.fixture
def three_a_minute(settings, one_window):
    settings.API_RATE_LIMIT = RateLimit(limit=3, window=60)
    settings.API_IP_RATE_LIMIT = RateLimit(limit=3, window=60)


def test_a_token_past_its_limit_gets_429_with_retry_after(
    admin, three_a_minute, django_assert_num_queries
):
    headers = token_headers(admin)
    other = token_headers(admin)
    for _ in range(3):
        assert Client().get(f"{API}/me", headers=headers).status_code == 200

    # Finding the token, then one upsert of its counter: nothing more for a refused call.
    with django_assert_num_queries(2):
        response = Client().get(f"{API}/me", headers=headers)

    assert_problem(response, 429, "throttled")
    assert response["Retry-After"] == "50"
    assert Client().get(f"{API}/me", headers=other).status_code == 200


def test_a_throttled_write_writes_nothing(admin, three_a_minute):
    headers = token_headers(admin, TokenScope.READ_WRITE)
    for _ in range(3):
        Client().get(f"{API}/me", headers=headers)

    response = Client().post(
        f"{API}/teams", {"name": "North"}, content_type="application/json", headers=headers
    )

    assert_problem(response, 429, "throttled")
    assert not Team.objects.filter(name="North").exists()


def test_session_calls_are_limited_per_address(admin, three_a_minute, django_assert_num_queries):
    here = Client(REMOTE_ADDR="192.0.2.1")
    there = Client(REMOTE_ADDR="192.0.2.2")
    here.force_login(admin)
    there.force_login(admin)
    for _ in range(3):
        assert here.get(f"{API}/me").status_code == 200

    # The session and its user, then one upsert of the address's counter.
    with django_assert_num_queries(3):
        response = here.get(f"{API}/me")

    assert_problem(response, 429, "throttled")
    assert response["Retry-After"] == "50"
    assert there.get(f"{API}/me").status_code == 200


def test_guessing_tokens_counts_against_the_address(db, three_a_minute):
    guesser = Client(REMOTE_ADDR="192.0.2.9")
    for n in range(3):
        response = guesser.get(f"{API}/me", headers={"Authorization": f"Bearer rap_{n}_x"})
        assert_problem(response, 401)

    response = guesser.get(f"{API}/me", headers={"Authorization": "Bearer rap_9_x"})

    assert_problem(response, 429, "throttled")
    assert ThrottleCounter.objects.count() == 1


def test_the_limits_are_settings(monkeypatch):
    from rapport import config

    monkeypatch.setenv("RAPPORT_API_RATE_LIMIT", "100/hour")
    assert config.rate_limit("RAPPORT_API_RATE_LIMIT", "600/min") == RateLimit(100, 3600)
    for bad in ("600", "0/min", "ten/min", "5/fortnight"):
        monkeypatch.setenv("RAPPORT_API_RATE_LIMIT", bad)
        with pytest.raises(config.ConfigError, match="RAPPORT_API_RATE_LIMIT"):
            config.rate_limit("RAPPORT_API_RATE_LIMIT", "600/min")


# The client's address


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.1"),  # no proxy: a client's own header is not believed
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the first entry is the client's lie
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies: the connection's
        (1, "", "10.0.0.1"),
    ],
)
def test_the_client_address_trusts_only_the_proxies_configured(
    settings, proxies, forwarded, expected
):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_behind_a_proxy_each_client_has_its_own_limit(settings, admin, three_a_minute):
    settings.PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    proxy.force_login(admin)
    for _ in range(3):
        proxy.get(f"{API}/me", headers={"X-Forwarded-For": "203.0.113.7"})

    refused = proxy.get(f"{API}/me", headers={"X-Forwarded-For": "203.0.113.7"})
    # A client cannot escape its limit by sending its own X-Forwarded-For.
    spoofed = proxy.get(f"{API}/me", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    other = proxy.get(f"{API}/me", headers={"X-Forwarded-For": "203.0.113.8"})

    assert (refused.status_code, spoofed.status_code, other.status_code) == (429, 429, 200)


# CORS


ORIGIN = "https://app.example.com"


def _preflight(origin: str, path: str = f"{API}/contacts") -> object:
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_is_closed_unless_origins_are_configured(db):
    response = _preflight(ORIGIN)

    assert "Access-Control-Allow-Origin" not in response


def test_a_configured_origin_passes_the_preflight(db, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]

    allowed = _preflight(ORIGIN)
    refused = _preflight("https://evil.example.net")

    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in refused


def test_cors_covers_only_the_api(db, settings, admin):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    client = Client()
    client.force_login(admin)

    page = client.get("/contacts/", headers={"Origin": ORIGIN})
    api_call = client.get(f"{API}/me", headers={"Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in page
    assert api_call["Access-Control-Allow-Origin"] == ORIGIN


def test_the_public_form_endpoint_stays_open_to_any_site(db, settings):
    # It answers its own preflight for any origin (it takes no credentials).
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]

    response = _preflight("https://customer.example.org", f"{API}/web-forms/abc/submissions")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"


def test_cors_origins_are_checked_at_start(monkeypatch):
    from rapport import config

    monkeypatch.setenv("RAPPORT_CORS_ORIGINS", "https://a.example.com, http://b.example.com:8080")
    assert config.cors_origins() == ["https://a.example.com", "http://b.example.com:8080"]
    monkeypatch.setenv("RAPPORT_CORS_ORIGINS", "a.example.com")
    with pytest.raises(config.ConfigError, match="RAPPORT_CORS_ORIGINS"):
        config.cors_origins()
