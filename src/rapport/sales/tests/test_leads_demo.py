"""``rapport demo`` adds lead scoring and routing rules, two web forms and 60 leads."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from rapport.core.models import SearchEntry
from rapport.sales.models import (
    Lead,
    LeadStatus,
    RoutingRule,
    ScoringRule,
    WebForm,
    WebFormSubmission,
)

pytestmark = pytest.mark.django_db


def test_the_demo_has_scored_and_routed_leads_from_forms_and_by_hand():
    call_command("demo", "--seed", "3", "--contacts", "20", stdout=io.StringIO())
    leads = Lead.objects.all()
    assert leads.count() == 60
    assert WebForm.objects.count() == 2 and WebFormSubmission.objects.count() == 14
    assert ScoringRule.objects.count() >= 5 and RoutingRule.objects.count() == 3
    assert set(leads.values_list("status", flat=True)) == set(LeadStatus.values)
    assert leads.filter(score__gt=0).count() > 30
    assert leads.filter(routing_rule__isnull=False).count() > 30
    for lead in leads:
        lead.full_clean()
        assert lead.score == sum(item["points"] for item in lead.score_explanation)
    assert SearchEntry.objects.filter(object_type="sales.lead").count() == 60
    converted = leads.filter(status=LeadStatus.CONVERTED)
    assert all(lead.converted_contact and lead.converted_deal for lead in converted)
