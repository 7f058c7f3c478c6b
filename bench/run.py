"""Rapport's benchmarks: ``make bench`` (or ``python bench/run.py --help``).

Each benchmark times Rapport's code path and, in the same run on the same
data, a ceiling: the fastest hand-written SQL that does the same job. The
figure that matters is the ratio, which stays meaningful across machines.
Results go to ``bench/RESULTS.md`` and ``bench/results.json``.

Runs on a throw-away SQLite database unless ``RAPPORT_BENCH_DATABASE_URL``
names a PostgreSQL database (whose users, teams, audit log and outbox it empties).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def configure_environment() -> None:
    os.environ["RAPPORT_DATA_DIR"] = tempfile.mkdtemp(prefix="rapport-bench-")
    os.environ["RAPPORT_DATABASE_URL"] = os.environ.get("RAPPORT_BENCH_DATABASE_URL", "")
    os.environ["RAPPORT_TASK_BACKEND"] = "database"
    os.environ["RAPPORT_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The median of ``repeat`` timings of ``action``, in seconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def result(name: str, rows: int, rapport: float, ceiling: float, note: str) -> dict:
    return {
        "name": name,
        "rows": rows,
        "rapport_ms": round(rapport * 1000, 3),
        "ceiling_ms": round(ceiling * 1000, 3),
        "ratio": round(rapport / ceiling, 2) if ceiling else None,
        "note": note,
    }


def seed_audit_entries(count: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from rapport.accounts.models import Team
    from rapport.core.models import AuditEntry

    content_type = ContentType.objects.get_for_model(Team)
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        AuditEntry.objects.bulk_create(
            AuditEntry(
                at=now,
                actor_label="bench",
                source="system",
                action="update",
                content_type=content_type,
                object_id=str(number % 5000),
                object_repr=f"Team {number}",
                changes={"name": [f"a{number}", f"b{number}"]},
            )
            for number in range(start, min(start + batch, count))
        )


def bench_keyset(rows: int, repeat: int) -> list[dict]:
    """A page deep in the audit log: keyset pagination against the raw indexed query."""
    from django.db import connection

    from rapport.core.models import AuditEntry
    from rapport.core.pagination import encode_cursor, keyset_page

    seed_audit_entries(rows)
    entries = AuditEntry.objects.all()
    ordering = ["-id"]
    deep_row = entries.order_by("id")[rows // 10]
    cursor = encode_cursor(deep_row, ordering)
    table = AuditEntry._meta.db_table

    def rapport_page() -> None:
        page = keyset_page(entries, ordering=ordering, cursor=cursor, limit=50)
        assert len(page.items) == 50

    def raw_page() -> None:
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT * FROM {table} WHERE id < %s ORDER BY id DESC LIMIT 51", [deep_row.pk]
            )
            assert len(sql.fetchall()) == 51

    def offset_page() -> None:
        assert len(list(entries.order_by("-id")[rows - rows // 10 : rows - rows // 10 + 50])) == 50

    keyset = best_of(repeat, rapport_page)
    ceiling = best_of(repeat, raw_page)
    offset = best_of(repeat, offset_page)
    return [
        result(
            "keyset page 90% deep in the audit log",
            rows,
            keyset,
            ceiling,
            f"ceiling: raw SQL on the primary key; OFFSET paging: {offset * 1000:.1f} ms",
        )
    ]


def bench_outbox(events: int) -> list[dict]:
    """Delivering pending events to a handler, against marking the same rows delivered in SQL."""
    from django.db import connection
    from django.utils import timezone

    from rapport.core.dispatch import dispatch_pending
    from rapport.core.events import subscribe, unsubscribe
    from rapport.core.models import OutboxEvent

    def make_events() -> None:
        OutboxEvent.objects.all().delete()
        OutboxEvent.objects.bulk_create(
            OutboxEvent(name="bench.happened", aggregate_type="bench", aggregate_id=str(n % 500))
            for n in range(events)
        )

    delivered: list[int] = []

    def handler(event: OutboxEvent) -> None:
        delivered.append(event.pk)

    subscribe("bench.*", handler)
    try:
        make_events()
        started = time.perf_counter()
        while dispatch_pending(batch=500, worker_id="bench"):
            pass
        rapport = time.perf_counter() - started
    finally:
        unsubscribe("bench.*", handler)
    assert len(delivered) == events, (len(delivered), events)

    make_events()
    table = OutboxEvent._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as sql:
        sql.execute(f"SELECT id FROM {table} WHERE status = 'pending' ORDER BY id")
        ids = [row[0] for row in sql.fetchall()]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql.execute(
                f"UPDATE {table} SET status = 'delivered', delivered_at = %s "
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [timezone.now(), *chunk],
            )
    ceiling = time.perf_counter() - started
    return [
        result(
            "outbox dispatch of pending events",
            events,
            rapport,
            ceiling,
            f"{events / rapport:,.0f} events/s; ceiling: one UPDATE per 500 ids, no handler calls",
        )
    ]


def bench_audited_writes(count: int) -> list[dict]:
    """Creating teams through the service (validation, audit, event) against bare INSERTs."""
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.accounts import services
    from rapport.accounts.models import Role, Team, User
    from rapport.core.actors import Actor
    from rapport.core.models import Source

    admin = User.objects.create_user(
        username="bench", email="bench@example.com", role=Role.objects.get(slug="admin")
    )
    actor = Actor(user=admin, source=Source.CLI)
    started = time.perf_counter()
    for number in range(count):
        services.team_create(actor=actor, name=f"Service team {number}")
    rapport = time.perf_counter() - started

    table = Team._meta.db_table
    started = time.perf_counter()
    for number in range(count):
        with transaction.atomic(), connection.cursor() as sql:
            now = timezone.now()
            sql.execute(
                f"INSERT INTO {table} (name, description, created_at, updated_at, version) "
                "VALUES (%s, '', %s, %s, 1)",
                [f"Raw team {number}", now, now],
            )
    ceiling = time.perf_counter() - started
    return [
        result(
            "audited create (team_create) per record",
            count,
            rapport / count,
            ceiling / count,
            "ceiling: one bare INSERT per transaction, no validation, audit or event",
        )
    ]


def percentile(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def empty_contacts() -> None:
    """Drop the contacts, activities, tasks and deals a previous run left, in one
    statement per table: deleting their owners row by row would first set a million
    ``owner_id`` to NULL."""
    from django.db import connection

    from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
    from rapport.contacts.models import (
        Address,
        Company,
        Contact,
        ContactEmail,
        Employment,
        ListMembership,
        Phone,
        SocialProfile,
    )
    from rapport.core.models import SearchEntry
    from rapport.sales.models import (
        Deal,
        DealContact,
        DealLineItem,
        DealStageChange,
        IdempotencyKey,
        Lead,
        Order,
        OrderLine,
        Quota,
        Quote,
        QuoteLine,
        WebFormSubmission,
    )
    from rapport.tasks.models import Task, TaskLink

    # Referring tables first: SQLite checks foreign keys on each DELETE.
    loaded = [
        WebFormSubmission,
        Lead,
        OrderLine,
        Order,
        QuoteLine,
        Quote,
        IdempotencyKey,
        DealLineItem,
        DealContact,
        DealStageChange,
        Deal,
        Quota,
        MeetingAttendee,
        ActivityLink,
        Activity,
        TaskLink,
        Task,
        SearchEntry,
        ContactEmail,
        Phone,
        Address,
        SocialProfile,
        Employment,
        ListMembership,
        Contact.tags.through,
        Company.tags.through,
        Contact,
        Company,
    ]
    tables = [model._meta.db_table for model in loaded]
    with connection.cursor() as sql:
        if connection.vendor == "postgresql":
            sql.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for table in tables:
                sql.execute(f"DELETE FROM {table}")


def seed_contacts(count: int) -> float:
    """Demo people, then ``count`` contacts and a fifth as many companies through the demo's
    fast path (``rapport demo --contacts``); returns the seconds the contacts took."""
    from django.db import transaction

    from rapport.accounts.demo import load as load_people
    from rapport.accounts.models import User
    from rapport.contacts.demo import load as load_contacts

    if not User.objects.exists():
        load_people(seed=1)
    started = time.perf_counter()
    with transaction.atomic():
        load_contacts(seed=1, contacts=count)
    return time.perf_counter() - started


def search_queries(count: int) -> list[str]:
    """What people type into the header box, drawn from the data: name prefixes, full
    names, email prefixes, phones in national format, company words and typos."""
    import random

    import phonenumbers

    from rapport.contacts.models import Contact

    rng = random.Random(7)
    top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    picked = Contact.objects.filter(pk__in=rng.sample(range(1, top + 1), count)).select_related(
        "company"
    )
    queries = []
    for number, contact in enumerate(picked):
        last = contact.last_name
        kind = number % 7
        if kind == 0:
            queries.append(last[:4])
        elif kind == 1:
            queries.append(f"{contact.first_name} {last}")
        elif kind == 2:
            queries.append(contact.email.split("@")[0][:8])
        elif kind == 3 and contact.phone:
            parsed = phonenumbers.parse(contact.phone)
            queries.append(
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            )
        elif kind == 4 and contact.company:
            queries.append(contact.company.name.split()[0])
        elif kind == 5 and len(last) > 4:
            queries.append(last[0] + last[2] + last[1] + last[3:])
        else:
            queries.append(contact.first_name[:3])
    return queries


def raw_search(expression: str, limit: int) -> None:
    """The ceiling: the bare full-text query per object type, no scope, no rows to show."""
    from django.db import connection

    from rapport.core.search import registrations

    if connection.vendor == "postgresql":
        # The MATERIALIZED CTE keeps the planner on the GIN index (see core.search).
        sql = (
            "WITH m AS MATERIALIZED (SELECT object_id FROM core_searchentry "
            "WHERE object_type = %s AND document @@ to_tsquery('simple', %s)) "
            "SELECT object_id FROM m LIMIT %s"
        )
    else:
        # CROSS JOIN keeps the full-text table in the outer loop (see core.search).
        sql = (
            "SELECT e.object_id FROM core_search_fts f CROSS JOIN core_searchentry e "
            "ON e.id = f.rowid WHERE e.object_type = %s AND f.core_search_fts MATCH %s LIMIT %s"
        )
    with connection.cursor() as cursor:
        for registration in registrations():
            cursor.execute(sql, [registration.key, expression, limit])
            cursor.fetchall()


def bench_search(count: int, queries: list[str]) -> list[dict]:
    """Global search at ``count`` contacts: the service for an admin and a sales rep, and the
    header type-ahead over HTTP, against the bare full-text query."""
    from django.test import Client

    from rapport.accounts.models import User
    from rapport.core import search

    admin = User.objects.get(email="admin@example.com")
    rep = User.objects.filter(role__slug="sales-rep").order_by("email").first()
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)

    def timings(action: Callable[[str], object]) -> list[float]:
        spent = []
        for query in queries:
            started = time.perf_counter()
            action(query)
            spent.append(time.perf_counter() - started)
        return spent

    expressions = {query: search._expression(search.query_words(query)) for query in queries}
    timings(lambda query: search.search(admin, query))  # warm the caches once
    ceiling = timings(lambda query: raw_search(expressions[query], 8))
    rows = []
    for label, action in [
        ("admin", lambda query: search.search(admin, query)),
        ("sales rep, team scope", lambda query: search.search(rep, query)),
        (
            "admin, type-ahead over HTTP",
            lambda query: client.get("/search/", {"q": query, "partial": "1"}),
        ),
    ]:
        spent = timings(action)
        for name, share in (("median", 0.5), ("p95", 0.95)):
            rows.append(
                result(
                    f"global search {name} ({label})",
                    count,
                    percentile(spent, share),
                    percentile(ceiling, share),
                    f"{len(queries)} queries: name and email prefixes, full names, national "
                    "phones, company words, typos; ceiling: bare full-text query per type",
                )
            )
    return rows


def bench_contact_list(count: int, repeat: int) -> list[dict]:
    """A contact list page's query at ``count`` contacts: a sales rep's records (team scope),
    one lifecycle stage, sorted by name, a keyset page of 50 from the middle; then the same
    with a quick search. Against the same SELECT written by hand."""
    from django.db import connection

    from rapport.accounts.models import User
    from rapport.contacts.models import Contact
    from rapport.core.pagination import encode_cursor, keyset_page
    from rapport.core.permissions import scope, team_ids

    rep = User.objects.filter(role__slug="sales-rep").order_by("email").first()
    ordering = ["last_name", "first_name", "id"]
    contacts = scope(
        Contact.objects.filter(lifecycle_stage="customer").select_related("company"), rep
    )
    middle = contacts.order_by(*ordering).filter(last_name__gte="M").first()
    cursor = encode_cursor(middle, ordering)
    teams = team_ids(rep)
    table = Contact._meta.db_table

    def rapport_page(queryset) -> None:
        keyset_page(queryset, ordering=ordering, cursor=cursor, limit=50)

    def raw_page(extra: str = "", params: tuple = (), first: bool = False) -> None:
        in_teams = ", ".join(["%s"] * len(teams))
        after = "" if first else "AND (c.last_name, c.first_name, c.id) > (%s, %s, %s) "
        position = [] if first else [middle.last_name, middle.first_name, middle.pk]
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT c.*, co.* FROM {table} c LEFT JOIN contacts_company co "
                "ON co.id = c.company_id WHERE c.deleted_at IS NULL "
                "AND c.lifecycle_stage = 'customer' AND (c.owner_id = %s "
                f"OR c.team_id IN ({in_teams}) OR c.owner_id IN (SELECT user_id FROM "
                f"accounts_user_teams WHERE team_id IN ({in_teams}))) {extra}{after}"
                "ORDER BY c.last_name, c.first_name, c.id LIMIT 51",
                [rep.pk, *teams, *teams, *params, *position],
            )
            sql.fetchall()

    return [
        result(
            "contact list page query (rep scope, stage filter, name sort, keyset 50)",
            count,
            best_of(repeat, lambda: rapport_page(contacts)),
            best_of(repeat, raw_page),
            "ceiling: the same SELECT written by hand",
        ),
        *bench_quick_search(count, repeat, rep, raw_page),
    ]


def bench_quick_search(count: int, repeat: int, rep, raw_page: Callable) -> list[dict]:
    """The list page's quick search: its bounded candidate set (the first matches within
    the rep's scope), then the filtered, sorted page among them; against the same two
    statements written by hand."""
    from django.db import connection
    from django.http import QueryDict

    from rapport.contacts import queries
    from rapport.contacts.listing import QUICK_SEARCH_CANDIDATES
    from rapport.core import search
    from rapport.core.pagination import keyset_page
    from rapport.core.permissions import team_ids

    quick = "ann"
    params = QueryDict(f"q={quick}&lifecycle_stage=customer")
    expression = search._expression(search.query_words(quick))
    teams = team_ids(rep)
    in_teams = ", ".join(["%s"] * len(teams))
    if connection.vendor == "postgresql":
        matching = (
            "WITH m AS MATERIALIZED (SELECT object_id FROM core_searchentry WHERE "
            "document @@ to_tsquery('simple', %s) AND object_type = 'contacts.contact' "
            f"AND (owner_id = %s OR team_id IN ({in_teams}) OR owner_id IN (SELECT user_id "
            f"FROM accounts_user_teams WHERE team_id IN ({in_teams})))) "
            "SELECT object_id FROM m LIMIT %s"
        )
    else:
        matching = (
            "SELECT e.object_id FROM core_search_fts f CROSS JOIN core_searchentry e "
            "ON e.id = f.rowid WHERE f.core_search_fts MATCH %s AND e.object_type = "
            f"'contacts.contact' AND (e.owner_id = %s OR e.team_id IN ({in_teams}) OR "
            f"e.owner_id IN (SELECT user_id FROM accounts_user_teams WHERE team_id IN "
            f"({in_teams}))) LIMIT %s"
        )

    def rapport_page() -> None:
        filterset, ordering = queries.contact_list(rep, params, search_cap=QUICK_SEARCH_CANDIDATES)
        keyset_page(
            filterset.qs.select_related("company"), ordering=ordering, cursor=None, limit=50
        )

    def raw_search_page() -> None:
        with connection.cursor() as sql:
            sql.execute(matching, [expression, rep.pk, *teams, *teams, QUICK_SEARCH_CANDIDATES])
            ids = [row[0] for row in sql.fetchall()]
        marks = ", ".join(["%s"] * len(ids)) or "NULL"
        raw_page(f"AND c.id IN ({marks}) ", tuple(ids), first=True)

    return [
        result(
            f"contact list page query with quick search “{quick}”",
            count,
            best_of(repeat, rapport_page),
            best_of(repeat, raw_search_page),
            f"candidates: the first {QUICK_SEARCH_CANDIDATES:,} matches in the rep's scope; "
            "ceiling: the same two statements written by hand",
        )
    ]


def bench_pages_over_http(count: int, repeat: int) -> list[dict]:
    """Whole requests through Django as a sales rep: the contact list page and the contacts
    API (stage filter, name sort, a keyset page from the middle), and a contact's 360 page;
    against the time of the list's own SELECT written by hand, so the ratio is what the
    request adds around its main query (permissions, related rows, rendering)."""
    from django.db import connection
    from django.test import Client

    from rapport.accounts.models import User
    from rapport.contacts.models import Contact
    from rapport.core.pagination import encode_cursor
    from rapport.core.permissions import scope

    rep = User.objects.filter(role__slug="sales-rep").order_by("email").first()
    client = Client(SERVER_NAME="localhost")
    client.force_login(rep)
    ordering = ["last_name", "first_name", "id"]
    visible = scope(Contact.objects.filter(lifecycle_stage="customer"), rep)
    middle = visible.order_by(*ordering).filter(last_name__gte="M").first()
    cursor = encode_cursor(middle, ordering)
    contact = visible.filter(company__isnull=False).order_by("-id").first()
    table = Contact._meta.db_table

    def raw_list() -> None:
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT * FROM {table} WHERE deleted_at IS NULL AND lifecycle_stage = "
                "'customer' AND (last_name, first_name, id) > (%s, %s, %s) "
                "ORDER BY last_name, first_name, id LIMIT 51",
                [middle.last_name, middle.first_name, middle.pk],
            )
            sql.fetchall()

    ceiling = best_of(repeat, raw_list)
    query = {"lifecycle_stage": "customer", "sort": "name", "cursor": cursor}
    requests = [
        (
            "contact list page over HTTP (rep, stage filter, name sort, middle page)",
            lambda: client.get("/contacts/", query),
        ),
        (
            "contacts API over HTTP (rep, stage filter, name sort, middle page)",
            lambda: client.get("/api/v1/contacts", query),
        ),
        ("contact 360 page over HTTP (rep)", lambda: client.get(contact.get_absolute_url())),
    ]
    rows = []
    for name, request in requests:
        response = request()
        assert response.status_code == 200, (name, response.status_code)
        rows.append(
            result(
                name,
                count,
                best_of(repeat, request),
                ceiling,
                "test client, no network; ceiling: the list's SELECT by hand",
            )
        )
    return rows


def sales_rep():
    from rapport.accounts.models import User

    return User.objects.filter(role__slug="sales-rep").order_by("email").first()


def seed_timeline(contact, activities: int) -> None:
    """``activities`` activities on ``contact`` (one a day back to the past, of every kind,
    meetings with its owner attending, a third on its company too), by the contact's owner
    and their teammates, through ``core.bulk`` as the demo writes them."""
    import datetime
    import itertools

    from django.utils import timezone

    from rapport.accounts.models import User
    from rapport.activities.demo import BLANK
    from rapport.activities.models import Activity, ActivityLink, MeetingAttendee
    from rapport.core import bulk

    team = contact.owner.teams.order_by("pk").first()
    authors = itertools.cycle(
        User.objects.filter(teams=team).order_by("pk").values_list("pk", flat=True)
    )
    kinds = itertools.cycle(["call", "email", "note", "meeting", "chat", "visit"])
    now = timezone.now()
    rows = []
    for number, pk in zip(range(activities), bulk.reserve_ids(Activity, activities), strict=True):
        kind = next(kinds)
        at = now - datetime.timedelta(hours=number * 6 + 1)
        rows.append(
            {
                **BLANK,
                "id": pk,
                "kind": kind,
                "subject": f"Bench {kind} {number}",
                "body": "Spoke about the renewal and the new price list.",
                "occurred_at": at,
                "created_at": at,
                "owner_id": next(authors),
                "team_id": team.pk if team else None,
                "direction": "in" if kind in ("call", "email", "chat") else "",
                "email_from": (contact.email or "someone@example.com") if kind == "email" else "",
                "channel": "sms" if kind == "chat" else "",
                "starts_at": at if kind == "meeting" else None,
                "ends_at": at + datetime.timedelta(hours=1) if kind == "meeting" else None,
            }
        )
    targets = [("contacts.contact", contact.pk)]
    links = [
        {
            "activity_id": row["id"],
            "object_type": kind,
            "object_id": pk,
            "occurred_at": row["occurred_at"],
        }
        for number, row in enumerate(rows)
        for kind, pk in targets
        + (
            [("contacts.company", contact.company_id)]
            if contact.company_id and number % 3 == 0
            else []
        )
    ]
    attendees = [
        {"activity_id": row["id"], "user_id": contact.owner_id, "contact_id": None}
        for row in rows
        if row["kind"] == "meeting"
    ]
    bulk.insert(Activity, rows)
    bulk.insert(ActivityLink, links)
    bulk.insert(MeetingAttendee, attendees)
    bulk.reset_sequences(Activity, ActivityLink, MeetingAttendee)
    bulk.analyze(Activity, ActivityLink, MeetingAttendee)


def bench_timeline(count: int, activities: int, repeat: int) -> list[dict]:
    """The first page of the timeline of a contact with ``activities`` activities, as its
    owner (a sales rep) sees it: through the timeline service, the 360 page's htmx
    endpoint and the API; against the bare range query of the contact's links on
    ``activitylink_timeline_idx``."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from rapport.activities.models import ActivityLink
    from rapport.contacts.models import Contact
    from rapport.core import timeline

    rep = sales_rep()
    contact = Contact.objects.filter(owner=rep, company__isnull=False).order_by("pk").first()
    seed_timeline(contact, activities)
    client = Client(SERVER_NAME="localhost")
    client.force_login(rep)
    table = ActivityLink._meta.db_table

    def raw_range() -> None:
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT activity_id, occurred_at FROM {table} WHERE object_type = %s "
                "AND object_id = %s ORDER BY occurred_at DESC, activity_id DESC LIMIT %s",
                ["contacts.contact", contact.pk, timeline.PAGE_SIZE + 1],
            )
            assert len(sql.fetchall()) == timeline.PAGE_SIZE + 1

    def service_page() -> None:
        assert len(timeline.page(rep, contact).items) == timeline.PAGE_SIZE

    panel_url = reverse("activities:timeline", args=["contacts.contact", contact.pk])
    api_url = f"/api/v1/contacts/{contact.pk}/timeline"
    ceiling = best_of(repeat, raw_range)
    rows = []
    for name, action in [
        ("timeline first page (service)", service_page),
        (
            "timeline first page over HTTP (the 360 page's htmx endpoint)",
            lambda: client.get(panel_url, headers={"HX-Request": "true"}),
        ),
        (
            "timeline first page over HTTP (API)",
            lambda: client.get(api_url, {"limit": timeline.PAGE_SIZE}),
        ),
    ]:
        response = action()
        assert getattr(response, "status_code", 200) == 200, (name, response.status_code)
        rows.append(
            result(
                f"{name}, a contact with {activities:,} activities (rep)",
                count,
                best_of(repeat, action),
                ceiling,
                f"{timeline.PAGE_SIZE} items, newest first, merged with tasks and changes; "
                "test client, no network; ceiling: the bare range query on the "
                "activitylink timeline index",
            )
        )
    return rows


def seed_open_tasks(count: int) -> None:
    """``count`` open tasks: due from a month ago to two months ahead (a tenth undated),
    given round-robin to the demo's sales floor, one in ten to a team, each about a
    contact; through ``core.bulk`` as the demo writes them."""
    import datetime
    import itertools
    import random

    from django.utils import timezone

    from rapport.accounts.models import User
    from rapport.contacts.models import Contact
    from rapport.core import bulk
    from rapport.tasks.models import Task, TaskLink

    rng = random.Random(3)
    now = timezone.now()
    people = list(
        User.objects.filter(role__slug__in=["sales-rep", "sales-manager"])
        .order_by("email")
        .values_list("pk", "teams")
    )
    assignees = itertools.cycle(people)
    top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    rows, links = [], []
    for number, pk in zip(range(count), bulk.reserve_ids(Task, count), strict=True):
        user, team = next(assignees)
        due = None
        if number % 10:
            due = now + datetime.timedelta(minutes=rng.randrange(-30 * 1440, 60 * 1440))
        to_team = number % 10 == 1 and team is not None
        rows.append(
            {
                "id": pk,
                "title": f"Bench task {number}",
                "description": "",
                "due_at": due,
                "priority": "normal",
                "status": "open",
                "completed_at": None,
                "assignee_id": None if to_team else user,
                "assignee_team_id": team if to_team else None,
                "recurrence": "",
                "recurrence_interval": 1,
                "reminder_minutes": None,
                "remind_at": None,
                "reminded_at": None,
                "owner_id": user,
                "team_id": team,
                "created_by_id": user,
                "updated_by_id": user,
                "created_at": now - datetime.timedelta(minutes=count - number),
                "updated_at": now,
                "deleted_at": None,
                "deleted_by_id": None,
                "version": 1,
                "custom": {},
            }
        )
        links.append(
            {"task_id": pk, "object_type": "contacts.contact", "object_id": rng.randint(1, top)}
        )
    with bulk.without_indexes(Task, TaskLink):
        bulk.insert(Task, rows)
        bulk.insert(TaskLink, links)
    bulk.reset_sequences(Task, TaskLink)
    bulk.analyze(Task, TaskLink)


def bench_my_work(count: int, tasks: int, repeat: int) -> list[dict]:
    """A sales rep's My work with ``tasks`` open tasks in the database: its five sections
    (overdue, today, upcoming, undated, assigned by me; 10 each) through the service and
    the whole page over HTTP; against the bare indexed queries of the rep's open tasks
    that the sections read (the rep's own and their team's, each an index range)."""
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from rapport.core.permissions import team_ids
    from rapport.notifications.digest import user_zone
    from rapport.tasks import queries
    from rapport.tasks.models import Task

    seed_open_tasks(tasks)
    rep = sales_rep()
    client = Client(SERVER_NAME="localhost")
    client.force_login(rep)
    table = Task._meta.db_table
    size = queries.SECTION_SIZE + 1
    teams = team_ids(rep)

    def raw_sections() -> None:
        now = timezone.now()
        with timezone.override(user_zone(rep)):
            midnight = queries.end_of_today(now)
        open_tasks = (
            f"SELECT * FROM {table} WHERE deleted_at IS NULL AND status IN ('open', 'in_progress')"
        )
        in_teams = ", ".join(["%s"] * len(teams)) or "NULL"
        parts = [
            (f"{open_tasks} AND assignee_id = %s", [rep.pk]),
            (
                f"{open_tasks} AND assignee_id IS NULL AND assignee_team_id IN ({in_teams})",
                teams,
            ),
        ]
        sections = [
            ("AND due_at < %s ORDER BY due_at, id", [now]),
            ("AND due_at >= %s AND due_at < %s ORDER BY due_at, id", [now, midnight]),
            ("AND due_at >= %s ORDER BY due_at, id", [midnight]),
            ("AND due_at IS NULL ORDER BY id DESC", []),
        ]
        with connection.cursor() as sql:
            for condition, params in sections:
                for part, part_params in parts:
                    sql.execute(f"{part} {condition} LIMIT %s", [*part_params, *params, size])
                    sql.fetchall()
            sql.execute(
                f"{open_tasks} AND owner_id = %s AND (assignee_id IS NULL OR assignee_id <> %s) "
                "ORDER BY created_at DESC, id DESC LIMIT %s",
                [rep.pk, rep.pk, size],
            )
            sql.fetchall()

    def service_sections() -> None:
        now = timezone.now()
        with timezone.override(user_zone(rep)):
            for section in queries.SECTIONS:
                queries.section_page(rep, section, now=now)

    def page() -> None:
        response = client.get("/my-work/")
        assert response.status_code == 200

    mine = Task.objects.filter(queries.assigned_to(rep), status="open").count()
    ceiling = best_of(repeat, raw_sections)
    note = (
        f"{mine:,} of them the rep's; 5 sections of 10; ceiling: the bare indexed queries "
        "of the rep's open tasks, the rep's own and their team's, per section (9 statements)"
    )
    return [
        result(
            f"My work sections (service) with {tasks:,} open tasks (rep)",
            count,
            best_of(repeat, service_sections),
            ceiling,
            note,
        ),
        result(
            f"My work page over HTTP with {tasks:,} open tasks (rep)",
            count,
            best_of(repeat, page),
            ceiling,
            f"test client, no network; {note}",
        ),
    ]


def seed_deals(count: int) -> float:
    """``count`` deals over the past year in the demo's pipelines, owned by the demo's
    sellers, on the companies already built (``sales.deal_demo``, bulk); returns seconds."""
    from rapport.contacts.models import Company
    from rapport.core import bulk
    from rapport.sales import board_totals, deal_demo
    from rapport.sales.models import Deal, DealStageChange

    started = time.perf_counter()
    companies = list(Company.objects.values_list("pk", flat=True))
    deal_demo.load(seed=1, count=0, company_ids=companies)
    for made in deal_demo.generate(
        count=count, seed=1, sellers=deal_demo.sellers(), company_ids=companies
    ):
        if made % 100_000 == 0:
            print(f"  {made:,} deals", file=sys.stderr)
    deal_demo.add_quotas(deal_demo.sellers(), seed=1)
    board_totals.rebuild()
    bulk.analyze(Deal, DealStageChange)
    return time.perf_counter() - started


def sales_manager():
    from rapport.accounts.models import User

    return User.objects.filter(role__slug="sales-manager").order_by("email").first()


def bench_deals(count: int, repeat: int) -> list[dict]:
    """With ``count`` deals: a sales manager's kanban board of the default pipeline (first
    50 cards of each open stage, column totals) through the board query and over HTTP,
    the board API, and the forecast (3 months, with the statistical forecast) and sales
    metrics (12 months) pages over HTTP; against the bare SQL each reads: the first 50
    cards of each stage and the grouped totals, and the period sums of closed and open
    deals on their indexes."""
    import datetime

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from rapport.sales import deal_queries
    from rapport.sales.models import Deal, Pipeline, StageKind

    manager = sales_manager()
    client = Client(SERVER_NAME="localhost")
    client.force_login(manager)
    pipeline = Pipeline.objects.get(is_default=True)
    open_ids = list(pipeline.stages.filter(kind=StageKind.OPEN).values_list("pk", flat=True))
    table = Deal._meta.db_table
    marks = ", ".join(["%s"] * len(open_ids))

    def raw_board() -> None:
        with connection.cursor() as sql:
            for stage in open_ids:
                sql.execute(
                    f"SELECT * FROM {table} WHERE deleted_at IS NULL AND stage_id = %s "
                    "ORDER BY expected_close_date, id LIMIT 51",
                    [stage],
                )
                sql.fetchall()
            sql.execute(
                f"SELECT stage_id, COUNT(*), SUM(amount_base) FROM {table} WHERE deleted_at "
                f"IS NULL AND stage_id IN ({marks}) GROUP BY stage_id",
                open_ids,
            )
            sql.fetchall()

    today = timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)

    def raw_periods() -> None:
        with connection.cursor() as sql:
            sql.execute(
                f"SELECT SUM(amount_base) FROM {table} WHERE deleted_at IS NULL AND status = "
                "'won' AND closed_at >= %s",
                [timezone.now() - datetime.timedelta(days=730)],
            )
            sql.fetchall()
            sql.execute(
                f"SELECT SUM(amount_base), SUM(amount_base * probability / 100) FROM {table} "
                "WHERE deleted_at IS NULL AND status = 'open' AND expected_close_date >= %s "
                "AND expected_close_date < %s",
                [today, today + datetime.timedelta(days=92)],
            )
            sql.fetchall()

    board_url = f"/pipelines/{pipeline.pk}/"
    rows = []
    board_ceiling = best_of(repeat, raw_board)
    for name, action in [
        (
            "kanban board query (manager, first 50 cards per stage and totals)",
            lambda: deal_queries.board(manager, pipeline, {}),
        ),
        ("kanban board page over HTTP (manager)", lambda: client.get(board_url)),
        (
            "board API over HTTP (manager)",
            lambda: client.get(f"/api/v1/pipelines/{pipeline.pk}/board"),
        ),
    ]:
        response = action()
        assert getattr(response, "status_code", 200) == 200, name
        rows.append(
            result(
                name,
                count,
                best_of(repeat, action),
                board_ceiling,
                "ceiling: each stage's first 51 cards and its totals counted over the deals, "
                "by hand (the board reads the totals kept by every deal write)",
            )
        )
    period_ceiling = best_of(repeat, raw_periods)
    for name, url, query in [
        ("forecast page over HTTP (manager, 3 months, statistical)", "/forecast/", {}),
        (
            "sales metrics page over HTTP (manager, 12 months)",
            "/sales-metrics/",
            {"start": year_ago.isoformat(), "end": today.isoformat()},
        ),
    ]:
        assert client.get(url, query).status_code == 200, name
        rows.append(
            result(
                name,
                count,
                best_of(repeat, lambda url=url, query=query: client.get(url, query)),
                period_ceiling,
                "ceiling: two years of closed-won and a quarter of open deals summed by hand",
            )
        )
    return rows


def empty_tables() -> None:
    """Start from empty tables (roles stay: they ship as data)."""
    from rapport.accounts.models import Team, User
    from rapport.core.models import AuditEntry, OutboxEvent

    for model in (AuditEntry, OutboxEvent, Team, User):
        model.objects.all().delete()


def write_results(results: list[dict], database: str, rows: int) -> None:
    """Keep this database's run in ``results-<database>.json`` and rebuild RESULTS.md
    from every database's latest run."""
    path = HERE / f"results-{database}.json"
    if path.exists():
        # Keep the figures of benchmarks this run did not repeat.
        kept = json.loads(path.read_text())["results"]
        names = {item["name"] for item in results}
        results = [item for item in kept if item["name"] not in names] + results
    payload = {
        "database": database,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "audit_rows": rows,
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        "`make bench` (add `--contacts 1000000` for the contact figures, `--deals 1000000`",
        "for the deal figures: 1,000,000 deals over a year, about one in twelve open;",
        "`--import-contacts 1000000` for import and export). Times are medians unless named",
        "p95; the ratio is Rapport's time over the ceiling measured in the same run. Each",
        "database's table keeps the latest figure of every benchmark run on it.",
    ]
    for path in sorted(HERE.glob("results-*.json")):
        run = json.loads(path.read_text())
        lines += [
            "",
            f"## {run['database']} (Python {run['python']}, {run['machine']})",
            "",
            "| Benchmark | Rows | Rapport (ms) | Ceiling (ms) | Ratio | Note |",
            "|---|---:|---:|---:|---:|---|",
        ]
        lines += [
            f"| {item['name']} | {item['rows']:,} | {item['rapport_ms']} | {item['ceiling_ms']} "
            f"| {item['ratio']} | {item['note']} |"
            for item in run["results"]
        ]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="audit entries to page through")
    parser.add_argument("--events", type=int, default=20_000, help="outbox events to dispatch")
    parser.add_argument("--writes", type=int, default=1_000, help="audited creates to time")
    parser.add_argument("--repeat", type=int, default=20, help="timings per query benchmark")
    parser.add_argument(
        "--contacts",
        type=int,
        default=0,
        help="also build this many contacts (demo fast path) and time global search and a\n"
        "contact list page query on them (e.g. 1000000)",
    )
    parser.add_argument(
        "--search-queries", type=int, default=300, help="queries timed per search benchmark"
    )
    parser.add_argument(
        "--timeline-activities",
        type=int,
        default=10_000,
        help="with --contacts: activities on the contact whose timeline is timed",
    )
    parser.add_argument(
        "--deals",
        type=int,
        default=0,
        help="with --contacts: also build this many deals and time the kanban board,\n"
        "forecast and metrics (e.g. 1000000)",
    )
    parser.add_argument(
        "--open-tasks",
        type=int,
        default=100_000,
        help="with --contacts: open tasks in the database when My work is timed",
    )
    parser.add_argument(
        "--import-contacts",
        type=int,
        default=0,
        help="import this many contacts from a generated CSV with `rapport import`, time it\n"
        "against a bulk insert of the same rows, then export them (e.g. 1000000)",
    )
    parser.add_argument(
        "--only-exchange",
        action="store_true",
        help="with --import-contacts: skip the other benchmarks",
    )
    args = parser.parse_args()

    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # Pages render static URLs from the manifest, as a deployed server does.
    call_command("collectstatic", interactive=False, verbosity=0)
    empty_contacts()
    empty_tables()
    database = connection.vendor
    results = []
    if args.import_contacts:
        from exchange import bench_export, bench_import

        results += bench_import(args.import_contacts, result)
        results += bench_export(result)
        empty_contacts()
    if not args.only_exchange:
        results += [
            *bench_keyset(args.rows, args.repeat),
            *bench_outbox(args.events),
            *bench_audited_writes(args.writes),
        ]
    if args.contacts and not args.only_exchange:
        seconds = seed_contacts(args.contacts)
        print(f"{args.contacts:,} contacts built and indexed in {seconds:.0f} s", file=sys.stderr)
        results += [
            *bench_search(args.contacts, search_queries(args.search_queries)),
            *bench_contact_list(args.contacts, args.repeat),
            *bench_pages_over_http(args.contacts, args.repeat),
            *bench_timeline(args.contacts, args.timeline_activities, args.repeat),
            *bench_my_work(args.contacts, args.open_tasks, args.repeat),
        ]
        if args.deals:
            seconds = seed_deals(args.deals)
            print(f"{args.deals:,} deals built in {seconds:.0f} s", file=sys.stderr)
            results += bench_deals(args.deals, args.repeat)
    write_results(results, database, args.rows)
    for item in results:
        print(
            f"{item['name']}: {item['rapport_ms']} ms vs {item['ceiling_ms']} ms (x{item['ratio']})"
        )
    print(f"Written to {HERE / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
