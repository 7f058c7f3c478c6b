"""The lead fields that web forms fill and scoring and routing rules test, named the
same way everywhere: a field of the lead (``job_title``) or a lead custom field
(``custom.<key>``); and each field's text as the rules compare it."""

from __future__ import annotations

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.customfields import definitions_for
from rapport.sales.models import Lead

CUSTOM_PREFIX = "custom."
# The fields a visitor may fill in a web form and a rule may test, with their labels.
LEAD_FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "company_name": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "website": gettext_lazy("Website"),
    "country": gettext_lazy("Country"),
    "description": gettext_lazy("Message"),
}
# Rules may also test where the lead came from.
RULE_ONLY_FIELDS = {"source": gettext_lazy("Source")}

COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def target_choices(*, for_rules: bool = False) -> list[tuple[str, str]]:
    """(target, label) of every lead field and active lead custom field."""
    fields = LEAD_FIELD_LABELS | (RULE_ONLY_FIELDS if for_rules else {})
    choices = [(name, str(label)) for name, label in fields.items()]
    choices += [
        (f"{CUSTOM_PREFIX}{definition.key}", definition.label)
        for definition in definitions_for(Lead)
    ]
    return choices


def target_label(target: str) -> str:
    return dict(target_choices(for_rules=True)).get(target, target)


def validate_target(target: str, *, field: str, for_rules: bool = True) -> None:
    """``ValidationError`` on ``field`` unless ``target`` names a lead field or an active
    lead custom field."""
    if not target:
        raise ValidationError({field: [_("Choose a lead field.")]})
    if target not in dict(target_choices(for_rules=for_rules)):
        raise ValidationError({field: [_("Choose a lead field or a lead custom field.")]})


def field_value(lead: Lead, target: str) -> str:
    """``lead``'s value of ``target`` as text (a list of choices joined by commas)."""
    if target.startswith(CUSTOM_PREFIX):
        value = (lead.custom or {}).get(target.removeprefix(CUSTOM_PREFIX))
    else:
        value = getattr(lead, target, "")
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)
