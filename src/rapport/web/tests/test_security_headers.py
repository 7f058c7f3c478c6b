"""Security headers and settings through HTTP: the Content-Security-Policy of every kind
of page, frame rules of the pages meant to be framed or not, templates the policy
holds for, the rate limit of quote links, and ``rapport check --deploy`` clean for
production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

import rapport
from rapport.sales import quote_views
from rapport.sales.tests.test_webforms import make_form

SRC = Path(rapport.__file__).resolve().parent

STRICT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


@pytest.mark.parametrize("path", ["/", "/contacts/", "/login/", "/api/v1/me"])
def test_every_page_has_the_strict_policy(alice_client, path):
    response = alice_client.get(path)

    assert policy_of(response) == STRICT_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_public_web_form_may_be_framed_by_any_site(as_admin):
    form = make_form(as_admin)

    response = Client().get(f"/f/{form.public_key}/")

    framed = {name: value for name, value in STRICT_POLICY.items() if name != "frame-ancestors"}
    assert policy_of(response) == framed
    assert "X-Frame-Options" not in response


def test_a_form_that_redirects_may_post_to_the_redirects_site(as_admin):
    form = make_form(as_admin, redirect_url="https://www.customer.example/thanks?from=crm")

    response = Client().get(f"/f/{form.public_key}/")

    assert policy_of(response)["form-action"] == "'self' https://www.customer.example"


def test_quote_pages_may_not_be_framed(db):
    # Framing the page with its Accept button would let another site trick a click.
    response = Client().get("/q/not-a-token/")

    assert response.status_code == 404
    assert policy_of(response)["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_quote_links_are_rate_limited_per_address(db, monkeypatch, django_assert_num_queries):
    now = timezone.now().replace(second=10, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: now)
    monkeypatch.setattr(quote_views, "PUBLIC_LINK_LIMIT", 3)
    guesser = Client(REMOTE_ADDR="192.0.2.5")
    for n in range(3):
        assert guesser.get(f"/q/guess-{n}/").status_code == 404

    with django_assert_num_queries(1):
        refused = guesser.post("/q/guess-9/answer/", {"answer": "accept"})

    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    assert Client(REMOTE_ADDR="192.0.2.6").get("/q/guess-0/").status_code == 404


def test_the_policy_needs_nothing_inline_in_templates():
    """What the policy would block, nowhere in our templates: inline scripts, event
    handler attributes, style attributes or elements."""
    offences = []
    patterns = {
        "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>"),
        "handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
        "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
        "style element": re.compile(r"<style\b", re.IGNORECASE),
        "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    }
    sources = [*SRC.glob("*/templates/**/*.html"), *SRC.glob("*/*.py")]
    for path in sources:
        text = path.read_text()
        for name, pattern in patterns.items():
            if path.suffix == ".py" and name in ("handler", "javascript: URL"):
                continue
            for match in pattern.finditer(text):
                offences.append(f"{path.relative_to(SRC)}: {name}: {match.group(0)!r}")
    assert offences == []


def test_htmx_injects_no_style_element():
    base = (SRC / "web/templates/web/base.html").read_text()
    assert '"includeIndicatorStyles": false' in base
    assert ".htmx-indicator" in (SRC / "web/static/web/rapport.css").read_text()


# The deploy checks


def production_environment(tmp_path: Path) -> dict[str, str]:
    keep = {name: value for name, value in os.environ.items() if not name.startswith("RAPPORT_")}
    return {
        **keep,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_HTTPS": "1",
        "RAPPORT_DEBUG": "false",
        "RAPPORT_SECRET_KEY": secrets.token_urlsafe(64),
        "RAPPORT_ALLOWED_HOSTS": "crm.example.com",
        "RAPPORT_CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
        "PYTHONPATH": str(SRC.parent),
    }


def run_deploy_checks(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_checks_are_clean_for_production_settings(tmp_path):
    result = run_deploy_checks(production_environment(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"RAPPORT_HTTPS": "0"}, "security.W004"),  # no HSTS without HTTPS
        ({"RAPPORT_DEBUG": "1"}, "security.W018"),
    ],
)
def test_deploy_checks_catch_what_production_must_not_have(tmp_path, change, check):
    result = run_deploy_checks({**production_environment(tmp_path), **change})

    assert result.returncode != 0
    assert check in result.stdout + result.stderr


def test_hsts_preload_is_an_owners_choice(tmp_path):
    env = {**production_environment(tmp_path), "RAPPORT_HSTS_PRELOAD": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECURE_HSTS_PRELOAD, settings.SILENCED_SYSTEM_CHECKS)",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "rapport.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.split() == ["True", "[]"], result.stderr
    assert run_deploy_checks(env).returncode == 0
