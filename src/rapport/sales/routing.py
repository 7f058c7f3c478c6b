"""Lead routing: who gets a new lead that came without an owner.

The active routing rules are tried in order (``position``); the first whose
conditions all hold decides: its ``user``, the next member of its ``team`` in turn
(round robin), or its ``team``. A rule's conditions are a list of countries (a
territory) and a field that must equal a value; a condition left empty holds for
every lead. The lead keeps the rule that routed it (``Lead.routing_rule``), which its
creation's audit entry records and its page shows.

Round robin is fair under concurrent creation: the rule's row is locked
(``select_for_update``) while the next member is picked and written, so two leads
created at once go to two different members, in member id order, each in turn.
Admins keep the rules (``routing_rule_create``…), audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.accounts.models import Team, User
from rapport.core.actors import Actor
from rapport.core.audit import snapshot
from rapport.core.permissions import require_admin
from rapport.sales.lead_fields import COUNTRY_CODES, validate_target
from rapport.sales.models import Lead, RoutingRule, RuleOperator
from rapport.sales.scoring import attribute_matches
from rapport.sales.settings_rows import cleaned, delete_setting, next_position, save_setting

RULE_FIELDS = frozenset(
    {"name", "active", "position", "countries", "field", "value", "user", "team", "round_robin"}
)


@dataclass(frozen=True)
class Route:
    rule: RoutingRule
    owner: User | None
    team: Team | None


def matches(rule: RoutingRule, lead: Lead) -> bool:
    if rule.countries and lead.country.upper() not in rule.countries:
        return False
    return not rule.field or attribute_matches(rule.field, RuleOperator.EQUALS, rule.value, lead)


def _next_member(rule: RoutingRule) -> User | None:
    """The team member after the rule's last one, in id order (the first after the last),
    written back under the rule's row lock; ``None`` for a team without active members."""
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    members = User.objects.filter(teams=locked.team_id, is_active=True).order_by("id")
    after = members.filter(id__gt=locked.last_assigned_id or 0).first()
    chosen = after or members.first()
    if chosen is not None:
        RoutingRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return chosen


def route(lead: Lead) -> Route | None:
    """The route of the first active rule ``lead`` matches, or ``None``. Call it in the
    transaction that creates the lead: a round robin turn is taken."""
    rules = RoutingRule.objects.filter(active=True).select_related("user", "team")
    for rule in rules.order_by("position", "id"):
        if not matches(rule, lead) or (rule.user is not None and not rule.user.is_active):
            continue
        if rule.round_robin:
            member = _next_member(rule)
            if member is None:
                continue
            return Route(rule, member, rule.team)
        return Route(rule, rule.user, rule.team)
    return None


# The rules (admin settings)


def _clean_countries(raw: Any) -> list[str]:
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
    codes = list(dict.fromkeys(str(item).strip().upper() for item in items if str(item).strip()))
    unknown = [code for code in codes if code not in COUNTRY_CODES]
    if unknown:
        raise ValidationError(
            {
                "countries": [
                    _("Not ISO 3166 country codes: %(codes)s.") % {"codes": ", ".join(unknown)}
                ]
            }
        )
    return codes


def _check(rule: RoutingRule) -> None:
    errors: dict[str, list[str]] = {}
    if rule.field:
        try:
            validate_target(rule.field, field="field")
        except ValidationError as error:
            errors.update(error.message_dict)
    elif rule.value:
        errors["field"] = [_("Choose the field the value is compared with.")]
    if rule.round_robin and rule.team_id is None:
        errors["team"] = [_("Round robin needs a team.")]
    elif rule.round_robin and rule.user_id is not None:
        errors["user"] = [_("A round robin rule picks the user itself: leave this empty.")]
    elif not rule.round_robin and rule.user_id is None and rule.team_id is None:
        errors["user"] = [_("Choose a user or a team to give the leads to.")]
    if errors:
        raise ValidationError(errors)


def _cleaned(values: Mapping[str, Any]) -> dict[str, Any]:
    values = cleaned(values, RULE_FIELDS)
    if "countries" in values:
        values["countries"] = _clean_countries(values["countries"])
    return values


def _save(rule: RoutingRule, before: dict[str, Any] | None, actor: Actor) -> None:
    save_setting(rule, before, actor=actor, check=_check)


def routing_rule_create(*, actor: Actor, values: Mapping[str, Any]) -> RoutingRule:
    """Add a routing rule (admins), last unless ``position`` says where."""
    require_admin(actor.user)
    values = _cleaned(values)
    with transaction.atomic():
        rule = RoutingRule(**values, created_by=actor.user)
        if "position" not in values:
            rule.position = next_position(RoutingRule)
        _save(rule, None, actor)
    return rule


def routing_rule_update(
    rule: RoutingRule, *, actor: Actor, values: Mapping[str, Any]
) -> RoutingRule:
    require_admin(actor.user)
    values = _cleaned(values)
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(rule)
        for name, value in values.items():
            setattr(rule, name, value)
        _save(rule, before, actor)
    return rule


def routing_rule_delete(rule: RoutingRule, *, actor: Actor) -> None:
    """Remove a rule; the leads it routed keep their owners (and forget the rule)."""
    require_admin(actor.user)
    with transaction.atomic():
        delete_setting(rule, actor=actor)
