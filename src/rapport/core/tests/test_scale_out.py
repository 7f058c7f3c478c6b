"""Scale-out: two web processes and two workers on the Redis queue, the production layout
of docs/deploy.md, under a bounded mixed load, with one worker killed in the middle of an
import. Every job ends once in effect, nothing is lost and no request fails."""

from __future__ import annotations

import csv
import http.client
import io
import json
import secrets
import signal
import string
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from rapport.accounts.models import TokenScope, User
from rapport.accounts.tokens import token_create
from rapport.conftest import free_port
from rapport.contacts.models import Contact, ContactEmail, Tag
from rapport.core.actors import Actor
from rapport.core.models import (
    AuditAction,
    AuditEntry,
    Job,
    JobStatus,
    OutboxEvent,
    OutboxStatus,
    Source,
    WorkerHeartbeat,
)
from rapport.exchange.models import ImportRun, ImportStatus
from rapport.testing.processes import wait_until

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Its own Redis database: the other Redis tests use 15.
REDIS_URL = "redis://127.0.0.1:6379/13"
# Heartbeats every second, a worker silent for 3 is dead: the takeover comes in
# seconds rather than the production minute.
FAST_HEARTBEATS = {"RAPPORT_WORKER_HEARTBEAT_SECONDS": "1", "RAPPORT_WORKER_STALE_SECONDS": "3"}
FRESH = timedelta(seconds=2)
WORKER = ("worker", "--outbox-interval", "0.5")
IMPORT_ROWS = 2_000
IMPORT_BATCH = 50
API_CONTACTS = 60
CLIENTS = 4
# Clients reading while the jobs run: they share the machine's CPUs with the workers.
READERS = 2
# A background reader's requests at most, so the load stays bounded however long jobs take.
MAX_READS = 600


@pytest.fixture
def redis_queue():
    import redis

    if connection.vendor != "postgresql":
        pytest.skip(
            "scale-out needs PostgreSQL: SQLite is one file with one writer, not a database "
            "shared by several machines (run with RAPPORT_TEST_DATABASE_URL=postgres://…)"
        )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()


@pytest.fixture
def start(start_rapport):
    """Web and worker processes on the Redis queue, with short heartbeats and imports
    in small batches."""

    def start_on_redis(*arguments: str):
        return start_rapport(
            *arguments,
            RAPPORT_TASK_BACKEND=REDIS_URL,
            RAPPORT_IMPORT_BATCH_ROWS=str(IMPORT_BATCH),
            **FAST_HEARTBEATS,
        )

    return start_on_redis


@dataclass
class Load:
    """HTTP clients on 127.0.0.1 spreading requests over the web processes, as a load
    balancer would; every answer is recorded."""

    ports: list[int]
    token: str
    session: str
    answers: list[tuple[str, str, int]] = field(default_factory=list)
    turn: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    csrf: str = field(
        default_factory=lambda: "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(32)
        )
    )

    def next_port(self) -> int:
        with self.lock:
            self.turn += 1
            return self.ports[self.turn % len(self.ports)]

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes, http.client.HTTPMessage | None]:
        port = self.next_port()
        http_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            http_connection.request(method, path, body=body, headers=headers or {})
            response = http_connection.getresponse()
            status, content, response_headers = response.status, response.read(), response.msg
        except OSError as error:
            status, content, response_headers = 0, str(error).encode(), None
        finally:
            http_connection.close()
        with self.lock:
            self.answers.append((method, path, status))
        return status, content, response_headers

    def api(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.token}"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, content, _headers = self.send(method, f"/api/v1{path}", body, headers)
        return status, json.loads(content) if content.startswith(b"{") else {}

    def page(self, path: str) -> int:
        return self.send("GET", path, headers={"Cookie": f"sessionid={self.session}"})[0]

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        """POST a form as the signed-in user; returns the status and the redirect."""
        headers = {
            "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = urlencode({**fields, "csrfmiddlewaretoken": self.csrf}).encode()
        status, _content, response_headers = self.send("POST", path, body, headers)
        return status, response_headers.get("Location", "") if response_headers else ""

    def upload(self, path: str, fields: dict[str, str], name: str, content: bytes) -> dict:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        ]
        body = (
            "".join(parts).encode()
            + (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        status, answer, _headers = self.send("POST", f"/api/v1{path}", body, headers)
        assert status == 201, answer
        return json.loads(answer)

    def errors(self) -> list[tuple[str, str, int]]:
        return [answer for answer in self.answers if not 200 <= answer[2] < 400]


def import_file() -> tuple[bytes, set[str]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Email", "First name", "Last name"])
    emails = set()
    for number in range(IMPORT_ROWS):
        email = f"imported{number}@example.com"
        writer.writerow([email, f"Row {number}", "Imported"])
        emails.add(email)
    return buffer.getvalue().encode(), emails


def answers_health(port: int) -> bool:
    try:
        http_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        http_connection.request("GET", "/health")
        return http_connection.getresponse().status == 200
    except OSError:
        return False


def fresh_workers() -> int:
    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - FRESH).count()


def test_two_web_processes_and_two_workers_survive_a_killed_worker(start, redis_queue):
    admin = User.objects.create_superuser(username="root", email="root@example.com", password=None)
    _token, secret = token_create(
        actor=Actor(user=admin, source=Source.UI), name="load", scope=TokenScope.READ_WRITE
    )
    browser = Client()
    browser.force_login(admin)

    ports = [free_port(), free_port()]
    webs = [
        start("serve", "--bind", f"127.0.0.1:{port}", "--no-worker", "--workers", "1")
        for port in ports
    ]
    workers = [start(*WORKER), start(*WORKER)]
    for web, port in zip(webs, ports, strict=True):
        wait_until(lambda port=port: answers_health(port), process=web)
    wait_until(lambda: fresh_workers() == 2, process=workers[0])

    load = Load(ports=ports, token=secret, session=browser.cookies["sessionid"].value)

    # Contacts written through both web processes while others read.
    status, tag = load.api("POST", "/tags", {"name": "scale-out"})
    assert status == 201, tag

    def create(number: int) -> None:
        payload = {"first_name": f"P{number}", "last_name": "Loadtest"}
        status, answer = load.api(
            "POST", "/contacts", payload | {"email": f"load{number}@example.com"}
        )
        assert status == 201, answer
        load.api("GET", "/contacts?last_name=Loadtest")
        load.page("/contacts/" if number % 2 else "/")

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(create, range(API_CONTACTS)))

    # Three background jobs: an import, a bulk action on all matching rows, an export.
    content, imported_emails = import_file()
    mapping = {
        "columns": {"Email": "email", "First name": "first_name", "Last name": "last_name"},
        "options": {"key": "email"},
    }
    run = load.upload(
        "/imports",
        {"object_type": "contacts", "mapping": json.dumps(mapping)},
        "people.csv",
        content,
    )
    status, import_job = load.api("POST", f"/imports/{run['id']}/start", {"dry_run": False})
    assert status == 202, import_job
    status, location = load.form(
        "/contacts/bulk/",
        {
            "action": "add_tag",
            "tag": str(tag["id"]),
            "scope": "filtered",
            "query": "last_name=Loadtest",
        },
    )
    assert status == 302, location
    bulk_job = location.rstrip("/").rsplit("/", 1)[-1]
    status, export_job = load.api(
        "POST", "/exports", {"object_type": "contacts", "filters": {"last_name": "Loadtest"}}
    )
    assert status == 202, export_job
    job_ids = [import_job["job"], bulk_job, export_job["job"]]

    # Readers keep going (lists, pages, the jobs' progress as their page polls it) until
    # every job has ended.
    done = threading.Event()

    def read(reader: int) -> None:
        for number in range(MAX_READS):
            if done.is_set():
                return
            match number % 4:
                case 0:
                    load.api("GET", "/contacts?last_name=Imported")
                case 1:
                    load.page("/contacts/?last_name=Loadtest")
                case 2:
                    load.api("GET", f"/jobs/{job_ids[(number + reader) % len(job_ids)]}")
                case _:
                    load.send("GET", "/health")

    with ThreadPoolExecutor(READERS) as pool:
        readers = [pool.submit(read, reader) for reader in range(READERS)]
        try:
            # Kill the worker running the import once some batches are in.
            wait_until(
                lambda: ImportRun.objects.get(pk=run["id"]).next_row >= 6 * IMPORT_BATCH,
                timeout=30,
            )
            running_on = Job.objects.get(pk=import_job["job"]).worker_id
            pid = WorkerHeartbeat.objects.get(worker_id=running_on).pid
            (killed,) = [worker for worker in workers if worker.popen.pid == pid]
            killed.stop(signal.SIGKILL)
            cut_at = ImportRun.objects.get(pk=run["id"]).next_row
            assert cut_at < IMPORT_ROWS, "the import had ended before the kill"
            (survivor,) = [worker for worker in workers if worker is not killed]

            wait_until(
                lambda: (
                    Job.objects.filter(pk__in=job_ids, finished_at__isnull=False).count()
                    == len(job_ids)
                ),
                timeout=45,
                process=survivor,
            )
        finally:
            done.set()
            for reader in readers:
                reader.result()

    assert load.errors() == []
    assert len(load.answers) > 3 * API_CONTACTS

    jobs = {str(job.pk): job for job in Job.objects.filter(pk__in=job_ids)}
    assert {job.status for job in jobs.values()} == {JobStatus.SUCCEEDED}, [
        (job.kind, job.message) for job in jobs.values()
    ]

    # The import was taken over by the other worker and went on after its last batch:
    # each row written once, one audit entry each.
    taken_over = jobs[import_job["job"]]
    assert taken_over.attempts == 2
    assert taken_over.worker_id != running_on
    finished = ImportRun.objects.get(pk=run["id"])
    assert (finished.status, finished.created, finished.failed) == (
        ImportStatus.SUCCEEDED,
        IMPORT_ROWS,
        0,
    )
    imported = ContactEmail.objects.filter(email__in=imported_emails)
    assert imported.count() == IMPORT_ROWS
    assert imported.values("contact").distinct().count() == IMPORT_ROWS
    assert Contact.objects.filter(last_name="Imported").count() == IMPORT_ROWS
    creates = AuditEntry.objects.filter(request_id=finished.audit_tag, action=AuditAction.CREATE)
    assert creates.count() == IMPORT_ROWS

    # The bulk action tagged every matching contact once, with one audit entry each.
    tagged = Contact.objects.filter(last_name="Loadtest")
    assert tagged.count() == API_CONTACTS
    assert Tag.objects.get(pk=tag["id"]).contacts.count() == API_CONTACTS
    bulk = jobs[bulk_job]
    retagged = AuditEntry.objects.filter(
        request_id=bulk.params["request_id"], action=AuditAction.UPDATE
    )
    assert retagged.count() == API_CONTACTS

    # The export holds exactly the matching contacts.
    status, exported, _headers = load.send(
        "GET",
        f"/api/v1/jobs/{export_job['job']}/download",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert status == 200
    assert len(list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))) == API_CONTACTS + 1

    # Nothing lost: the queue is empty, and every event is delivered but those the killed
    # worker may have leased in its last instant (taken again once the lease, LEASE,
    # ends: longer than this test).
    # (The survivor still works off the outbox deliveries each write enqueued.)
    wait_until(lambda: redis_queue.llen("rq:queue:default") == 0, timeout=20, process=survivor)
    assert not Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
    wait_until(
        lambda: (
            not OutboxEvent.objects.filter(status=OutboxStatus.PENDING)
            .exclude(locked_by=running_on)
            .exists()
        ),
        timeout=20,
        process=survivor,
    )
