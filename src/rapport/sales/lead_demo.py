"""Demo leads: scoring and routing rules, two web forms with their submissions, and 60
leads in every status, some with calls and emails on their timeline and a few
converted. Called by ``sales.demo.load``; everything goes through the services, drawn
with the seed, so the same seed gives the same leads."""

from __future__ import annotations

import random
from typing import Any

from rapport.accounts.demo import demo_admin
from rapport.accounts.models import Team, User
from rapport.activities.services import activity_create
from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.sales import routing, scoring, webforms
from rapport.sales.leads import lead_convert, lead_create, lead_update
from rapport.sales.models import Lead, LeadSource, WebForm

LEADS = 60
FORM_LEADS = 14
FIRST_NAMES = [
    "Amelia",
    "Jonas",
    "Chloé",
    "Mateo",
    "Sofia",
    "Lukas",
    "Hannah",
    "Noah",
    "Ines",
    "Oskar",
    "Yuki",
    "Priya",
    "Liam",
    "Emma",
    "Lars",
    "Giulia",
    "Tomás",
    "Aisha",
    "Felix",
    "Marta",
]
LAST_NAMES = [
    "Becker",
    "Rossi",
    "Martin",
    "Novak",
    "Jensen",
    "García",
    "Tanaka",
    "Okafor",
    "Schmidt",
    "Dubois",
    "Kowalski",
    "Larsen",
    "Silva",
    "Meyer",
    "Costa",
    "Fischer",
    "Moreau",
    "Berg",
]
COMPANIES = [
    ("Nordlicht Logistik", "nordlicht-logistik.example", "DE"),
    ("Alpenblick Hotels", "alpenblick.example", "AT"),
    ("Helvetia Labs", "helvetia-labs.example", "CH"),
    ("Atelier Lumière", "atelier-lumiere.example", "FR"),
    ("Bright Harbour Ltd", "brightharbour.example", "GB"),
    ("Summit Dental Group", "summitdental.example", "US"),
    ("Pacific Crate Co", "pacificcrate.example", "US"),
    ("Vela Studio", "velastudio.example", "IT"),
    ("Oranje Werkplek", "oranjewerkplek.example", "NL"),
    ("Fjord Analytics", "fjordanalytics.example", "NO"),
    ("Sakura Robotics", "sakura-robotics.example", "JP"),
    ("Maple & Pine", "mapleandpine.example", "CA"),
]
TITLES = [
    "Office Manager",
    "Facilities Director",
    "Head of Operations",
    "CEO",
    "Procurement Lead",
    "HR Director",
    "IT Manager",
    "Founder",
    "VP Workplace",
    "Assistant",
]
SOURCES = [
    LeadSource.REFERRAL,
    LeadSource.EVENT,
    LeadSource.ADVERTISING,
    LeadSource.COLD_CALL,
    LeadSource.PARTNER,
    LeadSource.MANUAL,
]
NOT_QUALIFIED = ["Student project", "No budget this year", "Competitor", "Wrong country"]
CONSENT = "I agree that Rapport Demo Ltd keeps these details to answer my request."


def _rules(actor: Actor, north: Team, south: Team, manager: User) -> None:
    attribute_rules: list[tuple[str, str, str, str, int]] = [
        ("In Germany", "country", "equals", "DE", 10),
        ("A director", "job_title", "contains", "director", 15),
        ("A vice-president", "job_title", "contains", "vp", 10),
        ("Has a phone", "phone", "is_set", "", 5),
        ("An assistant", "job_title", "contains", "assistant", -10),
    ]
    for name, field, operator, value, points in attribute_rules:
        scoring.scoring_rule_create(
            actor=actor,
            values={
                "name": name,
                "field": field,
                "operator": operator,
                "value": value,
                "points": points,
            },
        )
    for name, engagement, points, most in [
        ("Each activity", "activity", 5, 6),
        ("Replied by email", "email_reply", 20, None),
        ("Each web form", "form_submission", 10, 3),
    ]:
        scoring.scoring_rule_create(
            actor=actor,
            values={"name": name, "engagement": engagement, "points": points, "max_times": most},
        )
    routing.routing_rule_create(
        actor=actor,
        values={
            "name": "DACH to North, in turn",
            "countries": ["DE", "AT", "CH"],
            "team": north,
            "round_robin": True,
        },
    )
    routing.routing_rule_create(
        actor=actor,
        values={
            "name": "Partners to the South manager",
            "field": "source",
            "value": "partner",
            "user": manager,
            "team": south,
        },
    )
    routing.routing_rule_create(
        actor=actor,
        values={"name": "Everyone else to South, in turn", "team": south, "round_robin": True},
    )


def _forms(actor: Actor) -> list[WebForm]:
    contact = webforms.webform_create(
        actor=actor,
        values={
            "name": "Website: talk to sales",
            "title": "Talk to our sales team",
            "introduction": "Tell us about your office and we will call you back within a day.",
            "consent_text": CONSENT,
            "consent_required": True,
            "thank_you_message": "Thank you! Someone from our team will call you shortly.",
        },
        fields=[
            {"target": "first_name", "label": "First name", "required": True},
            {"target": "last_name", "label": "Last name", "required": True},
            {"target": "email", "label": "Work email", "required": True},
            {"target": "phone", "label": "Phone"},
            {"target": "company_name", "label": "Company"},
            {"target": "job_title", "label": "Job title"},
            {"target": "country", "label": "Country (two letters)"},
            {"target": "description", "label": "What do you need?"},
        ],
    )
    brochure = webforms.webform_create(
        actor=actor,
        values={
            "name": "Brochure download",
            "title": "Get the 2026 catalogue",
            "source": LeadSource.ADVERTISING,
            "thank_you_message": "The catalogue is on its way to your inbox.",
        },
        fields=[
            {"target": "email", "label": "Email", "required": True},
            {"target": "company_name", "label": "Company"},
        ],
    )
    return [contact, brochure]


def _person(rng: random.Random, n: int) -> dict[str, Any]:
    company, domain, country = rng.choice(COMPANIES)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    values = {
        "first_name": first,
        "last_name": last,
        "email": f"{first[0].lower()}.{last.lower()}{n}@{domain}".encode(
            "ascii", "ignore"
        ).decode(),
        "company_name": company,
        "job_title": rng.choice(TITLES),
        "website": f"https://www.{domain}",
        "country": country,
    }
    if rng.random() < 0.5:
        values["phone"] = f"+4930{rng.randrange(1000000, 9999999)}"
    return values


def load(rng: random.Random) -> None:
    """Add the rules, the forms and the leads, unless the demo forms are there already."""
    if WebForm.objects.filter(name="Website: talk to sales").exists():
        return
    admin = demo_admin()
    actor = Actor(user=admin, source=Source.CLI)
    north, south = Team.objects.get(name="North"), Team.objects.get(name="South")
    manager = User.objects.filter(teams=south, role__slug="sales-manager").first() or admin
    _rules(actor, north, south, manager)
    forms = _forms(actor)
    for n in range(FORM_LEADS):
        person = _person(rng, n)
        form = forms[n % 2]
        data = {field.input_name: person.get(field.target, "") for field in form.fields.all()}
        data |= {"consent": "1", "description": "Looking for desks for a new office."}
        webforms.webform_submit(
            form,
            data=data,
            client=webforms.Client(ip=f"198.51.100.{n + 1}", user_agent="Demo browser"),
        )
    for n in range(FORM_LEADS, LEADS):
        values = _person(rng, n) | {"source": rng.choice(SOURCES)}
        lead = lead_create(actor=actor, values=values)
        roll = rng.random()
        if roll < 0.35:
            activity_create(
                actor=actor,
                kind="call",
                links=[lead],
                values={"subject": "First call", "direction": "out", "outcome": "connected"},
            )
            lead = lead_update(lead, actor=actor, values={"status": "contacted"})
        if roll < 0.15:
            activity_create(
                actor=actor,
                kind="email",
                links=[lead],
                values={
                    "subject": "Re: your office project",
                    "direction": "in",
                    "email_from": lead.email,
                    "body": "Yes, let's talk next week.",
                },
            )
            lead = lead_update(lead, actor=actor, values={"status": "qualified"})
        elif roll > 0.9:
            lead_update(
                lead,
                actor=actor,
                values={
                    "status": "unqualified",
                    "disqualification_reason": rng.choice(NOT_QUALIFIED),
                },
            )
        if roll < 0.05:
            lead_convert(lead, actor=actor, deal={"name": f"{lead.company_name}: fit-out"})
    # Activities rescore their leads once the worker delivers their events; the demo's
    # scores are right from the start.
    scoring.rescore(list(Lead.objects.all()))
