"""Lead services: capture, normalisation, permissions, scoring and routing."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.http import Http404

from rapport.activities.models import ActivityLink
from rapport.activities.services import activity_create, activity_delete
from rapport.conftest import make_user
from rapport.core.exceptions import VersionConflict
from rapport.core.jobs import job_run
from rapport.core.models import AuditEntry, CustomFieldDefinition, Job, JobStatus, OutboxEvent
from rapport.core.search import search as global_search
from rapport.core.tasks import dispatch_until_empty
from rapport.sales import routing, scoring
from rapport.sales.leads import lead_convert, lead_create, lead_delete, lead_update
from rapport.sales.models import Lead, LeadStatus
from rapport.sales.tests.conftest import actor_for


def make_lead(actor, **values) -> Lead:
    return lead_create(actor=actor, values={"first_name": "Ada", "last_name": "Lovelace", **values})


# Capture


def test_a_lead_is_normalised_audited_announced_and_searchable(as_alice, alice):
    lead = make_lead(
        as_alice,
        email="  Ada@Example.COM ",
        phone="+49 30 1234567",
        website="example.com",
        country="de",
        company_name="Analytical Engines",
        job_title="Director of Research",
    )
    assert (lead.email, lead.phone, lead.website, lead.country) == (
        "ada@example.com",
        "+49301234567",
        "https://example.com",
        "DE",
    )
    assert lead.owner == alice and lead.status == LeadStatus.NEW
    assert (
        AuditEntry.objects.filter(
            content_type__model="lead", object_id=str(lead.pk), action="create"
        ).count()
        == 1
    )
    assert OutboxEvent.objects.filter(name="lead.created", aggregate_id=str(lead.pk)).exists()
    assert str(lead) == "Ada Lovelace"


def test_every_bad_value_is_named_and_nothing_is_written(as_alice):
    with pytest.raises(ValidationError) as caught:
        make_lead(as_alice, email="not-an-address", phone="12", country="XX", score=99)
    assert set(caught.value.message_dict) == {"score"}
    with pytest.raises(ValidationError) as caught:
        make_lead(as_alice, email="not-an-address", phone="12", country="XX")
    assert set(caught.value.message_dict) == {"email", "phone", "country"}
    assert not Lead.all_objects.exists()


def test_a_lead_needs_something_to_reach_them_by(as_alice):
    with pytest.raises(ValidationError) as caught:
        lead_create(actor=as_alice, values={"job_title": "CTO"})
    assert "__all__" in caught.value.message_dict


def test_unqualified_needs_a_reason_and_converted_needs_a_conversion(as_alice):
    lead = make_lead(as_alice)
    with pytest.raises(ValidationError) as caught:
        lead_update(lead, actor=as_alice, values={"status": "unqualified"})
    assert "disqualification_reason" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        lead_update(lead, actor=as_alice, values={"status": "converted"})
    assert "status" in caught.value.message_dict
    lead = lead_update(
        lead,
        actor=as_alice,
        values={"status": "unqualified", "disqualification_reason": "Student project"},
    )
    assert lead.disqualification_reason == "Student project"
    lead = lead_update(lead, actor=as_alice, values={"status": "qualified"})
    assert lead.disqualification_reason == ""


def test_teammates_see_but_outsiders_do_not(as_alice, bob, charlie):
    lead = make_lead(as_alice)
    with pytest.raises(PermissionDenied):
        lead_update(lead, actor=actor_for(bob), values={"job_title": "CEO"})
    with pytest.raises(Http404):
        lead_update(lead, actor=actor_for(charlie), values={"job_title": "CEO"})
    with pytest.raises(Http404):
        lead_delete(lead, actor=actor_for(charlie))


def test_a_stale_version_is_refused(as_alice):
    lead = make_lead(as_alice)
    lead_update(lead, actor=as_alice, values={"job_title": "CTO"})
    with pytest.raises(VersionConflict):
        lead_update(lead, actor=as_alice, values={"job_title": "CEO"}, expected_version=1)


def test_global_search_finds_a_lead_by_email_and_company(as_alice, alice, charlie):
    make_lead(as_alice, email="ada@engines.example", company_name="Analytical Engines")
    found = global_search(alice, "Analytical")
    assert any(group.label == "Leads" and group.hits for group in found)
    hidden = global_search(charlie, "Analytical")
    assert not any(group.label == "Leads" and group.hits for group in hidden)


# Scoring


@pytest.fixture
def rules(as_admin):
    return [
        scoring.scoring_rule_create(
            actor=as_admin,
            values={
                "name": "In Germany",
                "field": "country",
                "operator": "equals",
                "value": "DE",
                "points": 10,
            },
        ),
        scoring.scoring_rule_create(
            actor=as_admin,
            values={
                "name": "A director",
                "field": "job_title",
                "operator": "contains",
                "value": "director",
                "points": 15,
            },
        ),
        scoring.scoring_rule_create(
            actor=as_admin,
            values={"name": "Each activity", "engagement": "activity", "points": 5, "max_times": 3},
        ),
        scoring.scoring_rule_create(
            actor=as_admin,
            values={"name": "Replied by email", "engagement": "email_reply", "points": 20},
        ),
    ]


def test_the_score_lists_each_rule_that_matched(as_alice, rules):
    lead = make_lead(as_alice, country="DE", job_title="Sales Director")
    assert lead.score == 25
    assert [(item["name"], item["points"]) for item in lead.score_explanation] == [
        ("In Germany", 10),
        ("A director", 15),
    ]
    lead = lead_update(lead, actor=as_alice, values={"country": "FR"})
    assert lead.score == 15


def test_activities_move_the_score_after_commit(
    as_alice, rules, django_capture_on_commit_callbacks
):
    lead = make_lead(as_alice)
    call = activity_create(
        actor=as_alice, kind="call", links=[lead], values={"subject": "Intro", "direction": "out"}
    )
    activity_create(
        actor=as_alice,
        kind="email",
        links=[lead],
        values={"subject": "Re: intro", "direction": "in", "email_from": "ada@example.com"},
    )
    dispatch_until_empty(worker_id="test")
    lead.refresh_from_db()
    assert lead.score == 5 * 2 + 20
    for _ in range(3):
        activity_create(actor=as_alice, kind="note", links=[lead], values={"body": "note"})
    dispatch_until_empty(worker_id="test")
    lead.refresh_from_db()
    assert lead.score == 5 * 3 + 20  # at most three activities count
    activity_delete(call, actor=as_alice)
    dispatch_until_empty(worker_id="test")
    lead.refresh_from_db()
    assert {item["name"]: item["times"] for item in lead.score_explanation}["Each activity"] == 3


def test_a_rule_change_rescores_every_lead_in_one_background_job(as_alice, as_admin, rules):
    leads = [make_lead(as_alice, country="DE", email=f"p{n}@example.com") for n in range(7)]
    scoring.scoring_rule_update(rules[0], actor=as_admin, values={"points": 40})
    scoring.scoring_rule_update(rules[1], actor=as_admin, values={"points": 30})
    assert Lead.objects.get(pk=leads[0].pk).score == 10  # not yet
    [job] = Job.objects.filter(kind=scoring.RESCORE_JOB)  # one job serves every change
    original_batch = scoring.RESCORE_BATCH
    scoring.RESCORE_BATCH = 3
    try:
        job_run(str(job.pk))
    finally:
        scoring.RESCORE_BATCH = original_batch
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.progress_done == 7
    assert {lead.score for lead in Lead.objects.all()} == {40}
    scoring.scoring_rule_delete(rules[0], actor=as_admin)
    assert Job.objects.filter(kind=scoring.RESCORE_JOB, status=JobStatus.QUEUED).count() == 1


def test_only_admins_keep_scoring_rules_and_bad_rules_are_refused(as_alice, as_admin):
    with pytest.raises(PermissionDenied):
        scoring.scoring_rule_create(
            actor=as_alice, values={"name": "x", "points": 1, "engagement": "activity"}
        )
    with pytest.raises(ValidationError) as caught:
        scoring.scoring_rule_create(
            actor=as_admin,
            values={"name": "x", "points": 1, "field": "salary", "operator": "equals"},
        )
    assert set(caught.value.message_dict) == {"field", "value"}
    with pytest.raises(ValidationError) as caught:
        scoring.scoring_rule_create(
            actor=as_admin,
            values={"name": "x", "points": 1, "engagement": "activity", "field": "country"},
        )
    assert "engagement" in caught.value.message_dict


def test_a_custom_field_can_be_scored(as_alice, as_admin):
    CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Lead),
        key="budget",
        label="Budget",
        field_type="text",
    )
    scoring.scoring_rule_create(
        actor=as_admin,
        values={
            "name": "Has a budget",
            "field": "custom.budget",
            "operator": "is_set",
            "points": 7,
        },
    )
    assert make_lead(as_alice, email="a@example.com").score == 0
    assert (
        lead_create(
            actor=as_alice, values={"email": "b@example.com"}, custom={"budget": "50k"}
        ).score
        == 7
    )


# Routing


def test_the_first_matching_rule_routes_and_is_recorded(as_alice, as_admin, bob, charlie, west):
    germany = routing.routing_rule_create(
        actor=as_admin, values={"name": "DACH", "countries": "de, AT ch", "user": bob}
    )
    routing.routing_rule_create(
        actor=as_admin,
        values={
            "name": "Partners",
            "field": "source",
            "value": "partner",
            "team": west,
            "user": charlie,
        },
    )
    lead = make_lead(as_alice, country="AT", source="partner")
    assert (lead.owner, lead.routing_rule) == (bob, germany)
    assert germany.countries == ["DE", "AT", "CH"]
    entry = AuditEntry.objects.get(
        content_type__model="lead", object_id=str(lead.pk), action="create"
    )
    assert entry.changes["routing_rule"] == [None, germany.pk]
    other = make_lead(as_alice, country="FR", source="partner")
    assert (other.owner, other.team) == (charlie, west)


def test_an_owner_given_skips_routing_and_no_match_leaves_the_creator(
    as_alice, as_admin, alice, bob
):
    routing.routing_rule_create(
        actor=as_admin, values={"name": "DE", "countries": ["DE"], "user": bob}
    )
    given = make_lead(as_alice, country="DE", owner=alice)
    assert (given.owner, given.routing_rule) == (alice, None)
    unmatched = make_lead(as_alice, country="FR")
    assert (unmatched.owner, unmatched.routing_rule) == (alice, None)


def test_round_robin_is_fair_in_member_order(as_alice, as_admin, east, alice, bob):
    carol = make_user("carol@example.com", role_slug="sales-rep", teams=[east])
    inactive = make_user("dave@example.com", role_slug="sales-rep", teams=[east])
    inactive.is_active = False
    inactive.save()
    rule = routing.routing_rule_create(
        actor=as_admin, values={"name": "Everyone in turn", "team": east, "round_robin": True}
    )
    owners = [make_lead(as_alice, email=f"r{n}@example.com").owner for n in range(9)]
    assert owners == [alice, bob, carol] * 3
    rule.refresh_from_db()
    assert rule.last_assigned == carol


def test_routing_rules_are_checked(as_admin, east, bob):
    with pytest.raises(ValidationError) as caught:
        routing.routing_rule_create(
            actor=as_admin, values={"name": "x", "round_robin": True, "countries": "DE QQ"}
        )
    assert set(caught.value.message_dict) == {"countries"}
    with pytest.raises(ValidationError) as caught:
        routing.routing_rule_create(actor=as_admin, values={"name": "x", "round_robin": True})
    assert set(caught.value.message_dict) == {"team"}
    with pytest.raises(ValidationError) as caught:
        routing.routing_rule_create(actor=as_admin, values={"name": "x", "value": "DE"})
    assert set(caught.value.message_dict) == {"field", "user"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_round_robin_stays_fair_when_leads_arrive_at_once(east, alice, bob, admin):
    carol = make_user("carol@example.com", role_slug="sales-rep", teams=[east])
    routing.routing_rule_create(
        actor=actor_for(admin), values={"name": "In turn", "team": east, "round_robin": True}
    )
    start = threading.Barrier(6)

    def capture(n: int) -> int:
        try:
            start.wait(timeout=10)
            lead = lead_create(actor=actor_for(alice), values={"email": f"c{n}@example.com"})
            return lead.owner_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        owners = list(pool.map(capture, range(12)))
    assert Counter(owners) == {alice.pk: 4, bob.pk: 4, carol.pk: 4}


def test_an_email_received_from_a_lead_joins_its_timeline_and_scores(as_alice, rules):
    lead = make_lead(as_alice, email="ada@example.com")
    done = make_lead(as_alice, email="ada@example.com", first_name="Old")
    lead_convert(done, actor=as_alice, create_company=False)
    contact = Lead.objects.get(pk=done.pk).converted_contact
    email = activity_create(
        actor=as_alice,
        kind="email",
        links=[contact],
        values={"subject": "Question", "direction": "in", "email_from": "Ada@Example.com"},
    )
    dispatch_until_empty(worker_id="test")
    linked = set(
        ActivityLink.objects.filter(activity=email).values_list("object_type", "object_id")
    )
    assert linked == {("contacts.contact", contact.pk), ("sales.lead", lead.pk)}
    lead.refresh_from_db()
    assert {item["name"] for item in lead.score_explanation} == {
        "Each activity",
        "Replied by email",
    }
    assert lead.last_contacted_at == email.occurred_at
