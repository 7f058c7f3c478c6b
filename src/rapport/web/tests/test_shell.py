"""The app shell over HTTP: home, navigation, search, error pages, static files."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import path

from rapport.accounts.models import Team

pytestmark = pytest.mark.django_db


def test_home_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_home_greets_the_user_and_shows_their_recent_changes(alice_client: Client, alice) -> None:
    response = alice_client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Hello, Alice" in html
    assert "Nothing yet." in html
    assert "Getting started" not in html


def test_every_navigation_link_of_an_admin_opens_a_page(admin_client: Client) -> None:
    html = admin_client.get("/").content.decode()
    sidebar = html.split('<nav id="sidebar"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'href="([^"]+)"', sidebar)

    assert {"/", "/settings/users/", "/settings/teams/", "/settings/roles/", "/trash/"} <= set(
        links
    )
    for link in links:
        assert admin_client.get(link).status_code == 200, link


def test_settings_links_are_only_shown_to_admins(alice_client: Client) -> None:
    html = alice_client.get("/").content.decode()

    assert "/settings/users/" not in html
    assert "/trash/" in html


def test_admin_home_shows_system_status_and_first_steps(admin_client: Client) -> None:
    html = admin_client.get("/").content.decode()

    assert "Getting started" in html
    assert "No background worker is running" in html


def test_search_finds_people_and_teams(alice_client: Client, bob, east) -> None:
    Team.objects.create(name="Eastern Europe", description="Key accounts")

    html = alice_client.get("/search/", {"q": "east"}).content.decode()

    assert "Results for “east”" in html
    assert "Eastern Europe" in html
    assert "Key accounts" in html
    assert alice_client.get("/search/", {"q": "bob"}).content.decode().count("bob@example.com") == 1


def test_search_escapes_the_query(alice_client: Client) -> None:
    html = alice_client.get("/search/", {"q": "<script>x</script>"}).content.decode()

    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_search_explains_a_too_short_query(alice_client: Client) -> None:
    assert (
        "Type at least two characters." in alice_client.get("/search/", {"q": "a"}).content.decode()
    )


def test_unknown_page_gets_the_404_page(alice_client: Client) -> None:
    response = alice_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("crash/", crash)]
handler500 = "rapport.web.views.server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_a_crash_gets_the_500_page_without_details(alice) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.get("/crash/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "boom" not in html


def test_pages_load_scripts_and_styles_only_from_this_server(alice_client: Client) -> None:
    html = alice_client.get("/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert any("django_htmx/htmx" in source for source in sources)
    assert all(not source.startswith(("http:", "https:", "//")) for source in sources)
    assert "<script>" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_static_files_are_served(alice_client: Client) -> None:
    response = alice_client.get("/static/web/rapport.css")

    assert response.status_code == 200
    assert b"--color-primary" in b"".join(response.streaming_content)


def test_every_response_carries_a_request_id(client: Client) -> None:
    given = client.get("/login/", HTTP_X_REQUEST_ID="proxy-given-id-123")
    made = client.get("/login/", HTTP_X_REQUEST_ID="bad id!")

    assert given["X-Request-ID"] == "proxy-given-id-123"
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
