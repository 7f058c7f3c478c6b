"""Records the email tests write to: Ann Archer of Acme, Alice's, with a work and a
personal address; Wes, a contact of Charlie's in the west team whom Alice cannot see;
and a way to send that runs what waits for the commit, as a request would."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from rapport.activities.models import Activity
from rapport.conftest import free_port
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.mail import services

Send = Callable[..., Activity]


@pytest.fixture
def acme(as_alice) -> Company:
    return contacts.company_create(actor=as_alice, values={"name": "Acme", "domain": "acme.test"})


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    return contacts.contact_create(
        actor=as_alice,
        values={"first_name": "Ann", "last_name": "Archer", "company": acme},
        emails=[
            {"email": "ann@acme.test", "kind": "work"},
            {"email": "ann.archer@home.test", "kind": "personal"},
        ],
    )


@pytest.fixture
def as_charlie(charlie) -> Actor:
    return Actor(user=charlie, source=Source.UI)


@pytest.fixture
def wes(as_charlie) -> Contact:
    return contacts.contact_create(
        actor=as_charlie, values={"first_name": "Wes", "email": "wes@west.test"}
    )


@pytest.fixture
def send(django_capture_on_commit_callbacks) -> Send:
    """``email_send`` with its after-commit delivery run, as at the end of a request."""

    def sending(**arguments) -> Activity:
        arguments.setdefault("subject", "Hello {{ contact.first_name }}")
        arguments.setdefault("body", "Dear {{ contact.full_name }},\n\nSee you soon.")
        with django_capture_on_commit_callbacks(execute=True):
            return services.email_send(**arguments)

    return sending


def raw_email(
    *,
    sender: str = "Ann Archer <ann@acme.test>",
    to: str = "alice@example.com",
    subject: str = "Renewal",
    body: str = "Can we talk about the renewal?",
    message_id: str | None = "<renewal-1@acme.test>",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    html: str | None = None,
) -> bytes:
    """An RFC 822 message as a mail program writes it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Tue, 03 Nov 2026 09:30:00 +0000"
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


DOVECOT_PASSWORD = "imap-secret"


@dataclass
class ImapServer:
    """Debian's dovecot on 127.0.0.1, started for the tests: any login works with
    ``password``, and each new login starts with empty folders."""

    host: str
    port: int
    password: str = DOVECOT_PASSWORD

    def new_login(self) -> str:
        return f"user-{uuid.uuid4().hex[:12]}@example.com"

    def append(self, login: str, folder: str, raw: bytes) -> None:
        connection = imaplib.IMAP4(self.host, self.port)
        try:
            connection.login(login, self.password)
            status, _data = connection.append(folder, None, None, raw)
            assert status == "OK"
        finally:
            connection.logout()


DOVECOT_CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
"""


def _dovecot_settings() -> dict[str, str]:
    """Root runs the mail processes as Debian's ``dovecot`` user (dovecot refuses
    root for them); anyone else runs dovecot entirely as themselves."""
    if os.geteuid() == 0:
        return {"user": "dovecot", "group": "dovecot"}
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return {"user": user, "group": group}


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    root = tempfile.mkdtemp(prefix="rapport-imap-")
    os.chmod(root, 0o755)
    for name in ("mail", "home"):
        os.makedirs(os.path.join(root, name), mode=0o777)
        os.chmod(os.path.join(root, name), 0o777)
    port = free_port()
    identity = _dovecot_settings()
    config = DOVECOT_CONFIG.format(root=root, port=port, password=DOVECOT_PASSWORD, **identity)
    if os.geteuid() != 0:
        config += f"default_login_user = {identity['user']}\n"
        config += f"default_internal_user = {identity['user']}\n"
    config_path = os.path.join(root, "dovecot.conf")
    with open(config_path, "w") as file:
        file.write(config)
    # Without -F, dovecot returns once its listeners are bound: ready when this returns.
    # Its daemon keeps the output open, so none is captured (it logs to log_path).
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([binary, "-c", config_path], check=True, **quiet)
    try:
        yield ImapServer(host="127.0.0.1", port=port)
    finally:
        subprocess.run([binary, "-c", config_path, "stop"], check=False, **quiet)
        shutil.rmtree(root, ignore_errors=True)
