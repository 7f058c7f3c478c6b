"""Fixtures shared by every app's tests.

Three people, as in every permission test: ``alice`` (a sales rep who owns
records), ``bob`` (her teammate, also a sales rep) and ``charlie`` (a sales rep
in another team). ``admin`` holds the admin role.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from playwright.sync_api import Page, sync_playwright

from rapport.accounts.models import Role, Team, User
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.testing.processes import RapportProcess, rapport_env

PASSWORD = "correct-horse-battery-staple"


def make_user(email: str, *, role_slug: str, teams: list[Team] = ()) -> User:
    user = User.objects.create_user(
        username=email.split("@")[0],
        email=email,
        password=PASSWORD,
        first_name=email.split("@")[0].title(),
        role=Role.objects.get(slug=role_slug),
    )
    user.teams.set(teams)
    return user


@pytest.fixture
def east(db) -> Team:
    return Team.objects.create(name="East")


@pytest.fixture
def west(db) -> Team:
    return Team.objects.create(name="West")


@pytest.fixture
def alice(east) -> User:
    return make_user("alice@example.com", role_slug="sales-rep", teams=[east])


@pytest.fixture
def bob(east) -> User:
    return make_user("bob@example.com", role_slug="sales-rep", teams=[east])


@pytest.fixture
def charlie(west) -> User:
    return make_user("charlie@example.com", role_slug="sales-rep", teams=[west])


@pytest.fixture
def admin(db) -> User:
    return make_user("admin@example.com", role_slug="admin")


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def as_alice(alice) -> Actor:
    return Actor(user=alice, source=Source.UI)


@pytest.fixture
def as_admin(admin) -> Actor:
    return Actor(user=admin, source=Source.UI)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings) -> Iterator[_Mailbox]:
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend sends to."""
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield mailbox
    finally:
        controller.stop()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in Debian's chromium, driven by Playwright (tests marked ``browser``)."""
    # Playwright's sync API runs an event loop in this thread; tests touch the
    # database only before the browser starts and after it is done.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def start_rapport(tmp_path) -> Iterator[Callable[..., RapportProcess]]:
    """Start ``rapport <arguments>`` as a process on the test database, with ``env``
    added to ``rapport_env``; every process started is killed at the end of the test."""
    started: list[RapportProcess] = []

    def start(*arguments: str, **env: str) -> RapportProcess:
        log = tmp_path / f"{arguments[0]}-{len(started)}.log"
        process = RapportProcess(*arguments, env=rapport_env(**env), log=log)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop(signal.SIGKILL)


def log_in(page: Page, base_url: str, email: str) -> None:
    """Sign in through the login form and land on the home page."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")
