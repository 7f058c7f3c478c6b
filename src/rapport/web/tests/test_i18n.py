"""Languages: a user's choice, or the browser's before login, picks the catalog each page uses.

The catalogs are checked here too, with the standard library only: every message of every
language is translated, keeps the placeholders it is formatted with, and the committed ``.mo``
says the same as its ``.po``.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from rapport.accounts.models import User

pytestmark = pytest.mark.django_db

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(autouse=True)
def default_language_afterwards() -> Iterator[None]:
    """Middleware leaves a request's language active in the thread; later tests expect none."""
    yield
    translation.deactivate()


def speaking(user: User, language: str) -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_the_three_languages_are_offered() -> None:
    assert [code for code, _name in settings.LANGUAGES] == ["en", "fr", "de"]
    assert TRANSLATED == ["fr", "de"]


@pytest.mark.parametrize(
    ("language", "greeting", "nav_home", "trash"),
    [
        ("fr", "Bonjour Alice", "Accueil", "Corbeille"),
        ("de", "Hallo Alice", "Startseite", "Papierkorb"),
    ],
)
def test_a_user_sees_pages_in_their_language(
    alice: User, language: str, greeting: str, nav_home: str, trash: str
) -> None:
    client = speaking(alice, language)

    home = client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert f'<html lang="{language}">' in html
    assert greeting in html
    assert nav_home in html
    assert "Getting started" not in html and "Hello, Alice" not in html

    trash_page = client.get("/trash/").content.decode()
    assert f"<h1>{trash}</h1>" in trash_page


def test_the_browser_language_does_not_override_the_users_choice(alice_client: Client) -> None:
    html = alice_client.get("/", headers={"accept-language": "de"}).content.decode()

    assert '<html lang="en">' in html
    assert "Hello, Alice" in html


@pytest.mark.parametrize(
    ("accept_language", "language", "heading", "forgot"),
    [
        ("de", "de", "Anmelden", "Passwort vergessen?"),
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Se connecter", "Mot de passe oublié\u00a0?"),
        ("ja", "en", "Log in", "Forgot your password?"),
    ],
)
def test_an_anonymous_visitor_gets_the_login_page_in_the_browsers_language(
    client: Client, accept_language: str, language: str, heading: str, forgot: str
) -> None:
    response = client.get("/login/", headers={"accept-language": accept_language})

    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert forgot in html


def test_a_german_login_form_error_is_german(client: Client, alice: User) -> None:
    response = client.post(
        "/login/",
        {"username": alice.email, "password": "wrong-password-123"},
        headers={"accept-language": "de"},
    )

    assert "Die E-Mail-Adresse oder das Passwort ist falsch." in response.content.decode()


def test_choosing_german_on_the_profile_switches_the_next_page(
    alice_client: Client, alice: User
) -> None:
    form = alice_client.get("/account/").content.decode()
    for code, name in (("en", "English"), ("fr", "Français"), ("de", "Deutsch")):
        assert re.search(rf'<option value="{code}"( selected)?>{name}</option>', form), code

    response = alice_client.post(
        "/account/",
        {"first_name": "Alice", "last_name": "", "timezone": "UTC", "language": "de"},
        follow=True,
    )

    alice.refresh_from_db()
    assert alice.language == "de"
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Ihr Profil wurde gespeichert." in html
    assert "Ihre Angaben" in html
    assert '<option value="de" selected>Deutsch</option>' in html


def test_an_invitation_is_written_in_the_invited_users_language(
    admin_client: Client, smtp_server
) -> None:
    response = admin_client.post(
        "/settings/users/new/",
        {
            "email": "dana@example.com",
            "first_name": "Dana",
            "timezone": "Europe/Berlin",
            "language": "de",
            "send_invitation": "on",
        },
        follow=True,
    )

    assert "Invitation sent to dana@example.com." in response.content.decode()
    [message] = smtp_server.messages
    assert message["Subject"] == "Sie wurden zu Rapport eingeladen"
    body = message.get_content()
    assert "Hallo Dana," in body
    assert "Der Link ist 72 Stunden gültig." in body


def test_a_language_outside_the_list_is_refused(alice_client: Client, alice: User) -> None:
    response = alice_client.post(
        "/account/", {"first_name": "Alice", "last_name": "", "timezone": "UTC", "language": "xx"}
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.language == "en"


@dataclass
class Message:
    """One entry of a .po file; ``strings`` are msgstr, or msgstr[0], msgstr[1]… in order."""

    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    strings: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Message]:
    """Parses the subset of the PO format that xgettext and msgmerge write."""
    messages: list[Message] = []
    current: Message | None = None
    target: str | None = None
    values: dict[str, str] = {}

    def finish() -> None:
        if current is not None and "msgid" in values:
            current.context = values.get("msgctxt")
            current.msgid = values["msgid"]
            current.plural = values.get("msgid_plural")
            keys = sorted(key for key in values if key.startswith("msgstr"))
            current.strings = [values[key] for key in keys]
            messages.append(current)

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            finish()
            current, target, values = None, None, {}
            continue
        if current is None:
            current = Message()
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            values[target] += ast.literal_eval(line)
        else:
            target, quoted = line.split(" ", 1)
            values[target] = ast.literal_eval(quoted)
    return messages


def catalog(language: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    header, *messages = read_po(catalog(language) / "django.po")

    assert header.msgid == ""
    assert f"Language: {language}\n" in header.strings[0]
    assert len(messages) > 500
    untranslated = [m.msgid for m in messages if not all(m.strings)]
    fuzzy = [m.msgid for m in [header, *messages] if "fuzzy" in m.flags]
    assert untranslated == []
    assert fuzzy == []
    for message in messages:
        assert len(message.strings) == (2 if message.plural else 1), message.msgid


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    for message in read_po(catalog(language) / "django.po")[1:]:
        expected = set(PLACEHOLDER.findall(message.msgid + (message.plural or "")))
        for string in message.strings:
            found = set(PLACEHOLDER.findall(string))
            assert found <= expected, (message.msgid, string)
            if not message.plural:
                assert found == expected, (message.msgid, string)
        if "python-format" in message.flags:
            percents = {string.count("%%") for string in message.strings}
            assert percents <= {message.msgid.count("%%")}, (message.msgid, message.strings)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_matches_its_po(language: str) -> None:
    """The .mo is what Django reads: a .po edited without compilemessages fails here."""
    with (catalog(language) / "django.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)

    for message in read_po(catalog(language) / "django.po")[1:]:
        if message.plural:
            shown = [mo.ngettext(message.msgid, message.plural, n) for n in (1, 5)]
            assert shown == message.strings, message.msgid
        elif message.context:
            assert mo.pgettext(message.context, message.msgid) == message.strings[0]
        else:
            assert mo.gettext(message.msgid) == message.strings[0], message.msgid
