"""CSRF through HTTP, generated over every URL pattern of the project: a signed-in
browser's POST without the CSRF token is refused everywhere but the few places that are
exempt on purpose, and the exempt set is exactly that."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.core.tests.test_api import assert_problem
from rapport.testing.routes import api_operations, fill_api_path, routes

API_NAMESPACE = "api:"
# Exempt from Django's CSRF middleware on purpose:
# - the public web form: visitors post without a session, often from inside another
#   site's iframe where no CSRF cookie is sent; the rate limit and honeypot guard it;
# - the API (every api:* pattern): a token request carries no cookie to forge with, and
#   a session request is checked by the API's SessionAuth instead (X-CSRFToken), as the
#   second test below shows for every write operation.
EXEMPT = {"sales:webform_public"}

PAGE_ROUTES = [route for route in routes() if not route.name.startswith(API_NAMESPACE)]


def test_the_exempt_views_are_exactly_the_listed_ones():
    exempt = {route.name for route in PAGE_ROUTES if getattr(route.view, "csrf_exempt", False)}
    api_routes = [route for route in routes() if route.name.startswith(API_NAMESPACE)]

    assert exempt == EXEMPT
    assert len(PAGE_ROUTES) > 150 and len(api_routes) > 100


@pytest.fixture
def browser(alice) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.mark.parametrize(
    "route",
    [route for route in PAGE_ROUTES if route.name not in EXEMPT],
    ids=lambda route: route.name,
)
def test_a_post_without_the_token_is_refused(browser, route):
    response = browser.post(route.fill(), {"name": "forged"})

    assert response.status_code == 403, route.route
    assert b"CSRF verification failed" in response.content


WRITE_OPERATIONS = [
    (method, path)
    for method, path, operation in api_operations()
    if method != "GET" and operation.get("security")
]


@pytest.mark.parametrize(("method", "path"), WRITE_OPERATIONS)
def test_an_api_write_from_a_session_without_the_token_is_refused(browser, method, path):
    response = browser.generic(method, fill_api_path(path), "{}", content_type="application/json")

    body = assert_problem(response, 403, "forbidden")
    assert "CSRF" in body["detail"]
