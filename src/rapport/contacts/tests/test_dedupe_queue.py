"""The duplicate review queue page: pairs in the user's merge scope, surest first, with
a merge link and a dismiss button; the scan and "Merge all sure pairs" buttons; who may
use it; bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.accounts.models import Role
from rapport.conftest import make_user
from rapport.contacts import dedupe, duplicates
from rapport.contacts.models import Contact, DuplicateCandidate, DuplicateStatus
from rapport.contacts.tests.dedupe_data import firm, person
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Job, JobStatus, Source

pytestmark = pytest.mark.django_db

QUEUE = "/duplicates/"
CONTACTS = "contacts.contact"


def body(response) -> str:
    return response.content.decode()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_bob(bob) -> Actor:
    return Actor(user=bob, source=Source.UI)


@pytest.fixture
def marketer(db):
    """May see every record, merge none."""
    return make_user("mia@example.com", role_slug="marketer")


@pytest.fixture
def ada(as_alice) -> tuple[Contact, Contact]:
    """Alice's contact entered twice, the second time with less and a slip: sure."""
    acme = firm(as_alice, "Acme")
    first = person(
        as_alice,
        "Ada",
        "Lovelace",
        email="ada@example.com",
        phone="+12025550143",
        company=acme,
        job_title="Analyst",
    )
    second = person(as_alice, "Ada", "Lovelase", email="ada@example.com")
    return first, second


@pytest.fixture
def grace(as_alice) -> tuple[Contact, Contact]:
    """Another pair of Alice's, found by its phone: high but not sure."""
    return (
        person(as_alice, "Grace", "Hopper", phone="+12025550199", email="grace@navy.example"),
        person(as_alice, "Grace", "Hoper", phone="+12025550199", email="gh@home.example"),
    )


@pytest.fixture
def bobs(as_alice, as_bob) -> tuple[Contact, Contact]:
    """A pair of one of Alice's contacts and one of Bob's: she may merge only hers."""
    return (
        person(as_alice, "Tim", "Berners-Lee", email="tim@w3.example"),
        person(as_bob, "Tim", "Berners Lee", email="tim@w3.example"),
    )


def scanned(*_pairs) -> list[DuplicateCandidate]:
    dedupe.scan(CONTACTS)
    return list(DuplicateCandidate.objects.order_by("-confidence"))


def test_the_queue_lists_the_pairs_surest_first_with_reasons_and_links(alice_client, ada, grace):
    sure, high = scanned(ada, grace)

    response = alice_client.get(QUEUE)

    html = body(response)
    assert response.status_code == 200
    assert html.index("Ada Lovelace") < html.index("Grace Hopper")
    assert "Same email address, Similar name" in html
    assert "Same phone number, Similar name" in html
    assert [row["pair"].candidate for row in response.context["rows"]] == [sure, high]
    # The more complete record is kept: the merge screen opens with it first.
    first, second = ada
    assert f"/contacts/merge/?a={first.pk}&amp;b={second.pk}" in html
    assert f"/duplicates/{sure.pk}/dismiss/" in html


def test_the_queue_sorts_by_confidence_either_way(alice_client, ada, grace):
    sure, high = scanned(ada, grace)

    rows = alice_client.get(QUEUE, {"sort": "confidence"}).context["rows"]

    assert [row["pair"].candidate for row in rows] == [high, sure]


def test_the_queue_is_paged_with_a_cursor(alice_client, as_alice, monkeypatch):
    from rapport.contacts import duplicate_views

    monkeypatch.setattr(duplicate_views, "PAIRS_PER_PAGE", 2)
    for number in range(5):
        email = f"p{number}@example.com"
        person(as_alice, "Pat", f"Doe{number}", email=email)
        person(as_alice, "Pat", f"Doe{number}", email=email)
    scanned()

    seen = []
    response = alice_client.get(QUEUE)
    while True:
        seen += [row["pair"].candidate.pk for row in response.context["rows"]]
        page = response.context["page"]
        if not page.has_more:
            break
        response = alice_client.get(QUEUE, {"cursor": page.next_cursor})

    assert sorted(seen) == sorted(DuplicateCandidate.objects.values_list("pk", flat=True))
    assert len(seen) == 5


def test_a_rep_sees_only_the_pairs_she_may_merge(alice_client, ada, bobs, admin_client):
    scanned(ada, bobs)
    sure_for_alice = DuplicateCandidate.objects.get(low_id=ada[0].pk)
    shared = DuplicateCandidate.objects.get(low_id=bobs[0].pk)

    alice_sees = [row["pair"].candidate for row in alice_client.get(QUEUE).context["rows"]]
    admin_sees = [row["pair"].candidate for row in admin_client.get(QUEUE).context["rows"]]

    assert alice_sees == [sure_for_alice]
    assert set(admin_sees) == {sure_for_alice, shared}


def test_merge_from_the_queue_opens_the_merge_screen_and_the_pair_leaves(alice_client, ada):
    (pair,) = scanned(ada)
    first, second = ada
    merge_url = alice_client.get(QUEUE).context["rows"][0]["merge_url"]

    screen = alice_client.get(merge_url)
    assert screen.status_code == 200
    assert screen.context["first"] == first and screen.context["second"] == second
    alice_client.post(merge_url, {"a": first.pk, "b": second.pk, "winner": first.pk})

    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED
    assert pair.decided_by is not None
    assert Contact.all_objects.get(pk=second.pk).is_deleted
    assert alice_client.get(QUEUE).context["rows"] == []


def test_not_a_duplicate_removes_the_pair_and_returns_to_the_page(alice_client, ada, grace):
    sure, high = scanned(ada, grace)
    back = f"{QUEUE}?sort=confidence"

    response = alice_client.post(f"/duplicates/{high.pk}/dismiss/", {"next": back}, follow=True)

    assert response.redirect_chain[-1][0] == back
    assert "Marked as not a duplicate" in body(response)
    assert [row["pair"].candidate for row in response.context["rows"]] == [sure]
    high.refresh_from_db()
    assert high.status == DuplicateStatus.DISMISSED


def test_dismiss_goes_back_only_to_this_site(alice_client, ada):
    (pair,) = scanned(ada)

    response = alice_client.post(
        f"/duplicates/{pair.pk}/dismiss/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"{QUEUE}?type=contacts.contact"


def test_dismissing_a_pair_outside_ones_scope_or_unknown_is_not_found(alice_client, bobs):
    (shared,) = scanned(bobs)

    assert alice_client.post(f"/duplicates/{shared.pk}/dismiss/").status_code == 404
    assert alice_client.post("/duplicates/999999/dismiss/").status_code == 404
    assert alice_client.get(f"/duplicates/{shared.pk}/dismiss/").status_code == 405
    shared.refresh_from_db()
    assert shared.status == DuplicateStatus.OPEN


def test_find_duplicates_starts_the_scan_and_shows_its_job(
    alice_client, alice, ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/duplicates/scan/", {"type": CONTACTS})

    job = Job.objects.get(kind=dedupe.SCAN_JOB)
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert (job.owner, job.status) == (alice, JobStatus.SUCCEEDED)
    assert DuplicateCandidate.objects.count() == 1
    assert "Last scan:" in body(alice_client.get(QUEUE))


def test_merge_all_sure_pairs_asks_first_then_merges_in_the_background(
    alice_client, ada, grace, django_capture_on_commit_callbacks
):
    sure, high = scanned(ada, grace)
    first, second = ada

    confirm = alice_client.get("/duplicates/merge-sure/", {"type": CONTACTS})
    assert confirm.status_code == 200
    assert "more fields filled in survives" in body(confirm)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/duplicates/merge-sure/", {"type": CONTACTS, "min_confidence": 95}
        )

    job = Job.objects.get(kind="contacts.duplicate_merge")
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.message == "1 pair merged."
    sure.refresh_from_db()
    high.refresh_from_db()
    assert (sure.status, high.status) == (DuplicateStatus.MERGED, DuplicateStatus.OPEN)
    # The more complete record survived, with what the other had in addition.
    assert Contact.all_objects.get(pk=second.pk).is_deleted
    first.refresh_from_db()
    assert (first.job_title, first.email) == ("Analyst", "ada@example.com")
    entry = AuditEntry.objects.get(action="merge")
    assert (entry.object_id, entry.source) == (str(first.pk), Source.UI)


def test_merge_all_sure_pairs_refuses_a_low_threshold(alice_client, ada):
    scanned(ada)

    response = alice_client.post(
        "/duplicates/merge-sure/", {"type": CONTACTS, "min_confidence": 60}
    )

    assert response.status_code == 200
    assert "greater than or equal to 90" in body(response)
    assert not Job.objects.exists()


def test_a_user_without_merge_rights_cannot_use_the_queue(marketer, ada):
    scanned(ada)
    client = client_for(marketer)
    (pair,) = DuplicateCandidate.objects.all()

    assert client.get(QUEUE).status_code == 403
    assert client.post("/duplicates/scan/", {"type": CONTACTS}).status_code == 403
    assert client.get("/duplicates/merge-sure/", {"type": CONTACTS}).status_code == 403
    assert client.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404
    assert "/duplicates/" not in body(client.get("/"))
    assert not Job.objects.exists()


def test_the_sidebar_shows_duplicates_to_those_who_may_merge(alice_client):
    assert 'href="/duplicates/"' in body(alice_client.get("/"))


def test_bad_parameters_are_bad_requests(alice_client, ada):
    scanned(ada)

    assert alice_client.get(QUEUE, {"type": "accounts.user"}).status_code == 400
    assert alice_client.get(QUEUE, {"sort": "name"}).status_code == 400
    assert alice_client.get(QUEUE, {"cursor": "forged"}).status_code == 400
    assert alice_client.post("/duplicates/scan/", {"type": "nope"}).status_code == 400
    assert not Job.objects.exists()


def test_the_company_queue(admin_client, as_admin):
    acme = firm(as_admin, "Acme Inc.", domain="acme.com")
    again = firm(as_admin, "ACME", domain="acme.com")
    dedupe.scan("contacts.company")

    response = admin_client.get(QUEUE, {"type": "contacts.company"})

    html = body(response)
    assert "Same domain, Same name" in html
    assert f"/companies/merge/?a={acme.pk}&amp;b={again.pk}" in html
    assert 'aria-current="page">Companies<' in html


def test_the_page_reads_a_fixed_number_of_queries(
    admin_client, as_admin, django_assert_num_queries
):
    acme = firm(as_admin, "Acme")
    names = ["Byron", "Curie", "Darwin", "Euler", "Fermi", "Gauss", "Hubble", "Jenner"]
    names += ["Kepler", "Lister"]

    def add_pairs(count: int, start: int) -> None:
        for name in names[start : start + count]:
            email = f"{name}@example.com"
            person(as_admin, "Pat", name, email=email, company=acme)
            person(as_admin, "Pat", name, email=email)
        dedupe.scan(CONTACTS)

    add_pairs(2, 0)
    with django_assert_num_queries(QUERIES_PER_PAGE):
        assert len(admin_client.get(QUEUE).context["rows"]) == 2
    add_pairs(8, 2)
    with django_assert_num_queries(QUERIES_PER_PAGE):
        assert len(admin_client.get(QUEUE).context["rows"]) == 10


# Session, user and role; the page of pairs, their records (with their companies) and the
# last scan; the header's count of unread notifications.
QUERIES_PER_PAGE = 7


def test_one_who_may_merge_only_companies_lands_on_their_queue(db):
    Role.objects.create(
        slug="company-keeper",
        name="Company keeper",
        permissions={"*": {"view": "all"}, "contacts.company": {"view": "all", "merge": "all"}},
    )
    client = client_for(make_user("kim@example.com", role_slug="company-keeper"))

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert response.context["object_type"] == "contacts.company"
    assert "Record types" not in body(response)  # no tab for contacts
    assert client.get(QUEUE, {"type": CONTACTS}).status_code == 403


def test_the_page_says_how_the_last_scan_went(alice_client, as_alice):
    assert "No scan yet." in body(alice_client.get(QUEUE))

    job = duplicates.duplicate_scan_start(actor=as_alice, object_type=CONTACTS)
    assert "A scan is under way" in body(alice_client.get(QUEUE))

    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    assert "The last scan did not finish." in body(alice_client.get(QUEUE))
