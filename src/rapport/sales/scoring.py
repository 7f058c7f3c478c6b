"""Lead scores: the points the active scoring rules give a lead, and why.

An attribute rule gives its points once when the lead's field meets its condition
(``country`` equals ``DE``, ``job_title`` contains ``director``, ``phone`` is set); an
engagement rule gives them for each activity of a kind linked to the lead (any
activity, an email received from them, a meeting) or each web form submission, up to
``max_times`` when set. The score is the sum; its explanation lists each rule that
matched with its points, as the lead page and the API show it.

The score is kept up to date: computed when a lead is written, recomputed when an
activity linked to a lead is logged, changed or deleted (``activity.*`` events) and
when a submission is attached, and for every lead by the ``leads.rescore`` job after
the rules change. Admins keep the rules (``scoring_rule_create``…), audited.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.activities.models import ActivityKind, ActivityLink, Direction
from rapport.core.actors import Actor
from rapport.core.audit import snapshot
from rapport.core.events import subscribe
from rapport.core.jobs import Progress, job_handler, job_start
from rapport.core.models import Job, JobStatus, OutboxEvent
from rapport.core.permissions import require_admin
from rapport.sales.lead_fields import field_value, validate_target
from rapport.sales.models import (
    Engagement,
    Lead,
    RuleOperator,
    ScoringRule,
    WebFormSubmission,
)
from rapport.sales.settings_rows import cleaned, delete_setting, next_position, save_setting

LEAD_TYPE = "sales.lead"
RULE_FIELDS = frozenset(
    {
        "name",
        "active",
        "field",
        "operator",
        "value",
        "engagement",
        "max_times",
        "points",
        "position",
    }
)
RESCORE_BATCH = 500
RESCORE_JOB = "leads.rescore"
# A rescoring job queued this recently serves a new change of the rules too; one queued
# longer ago may be stuck behind a busy queue, and another is started.
RESCORE_DEDUPE = datetime.timedelta(minutes=10)

Explanation = list[dict[str, Any]]


# Matching


def attribute_matches(field: str, operator: str, expected: str, lead: Lead) -> bool:
    """Whether ``lead``'s ``field`` meets ``operator`` ``expected`` (text compared
    without regard to case or surrounding spaces). Shared with the routing rules."""
    actual = field_value(lead, field).strip().casefold()
    wanted = expected.strip().casefold()
    if operator == RuleOperator.EQUALS:
        return actual == wanted
    if operator == RuleOperator.CONTAINS:
        return bool(wanted) and wanted in actual
    if operator == RuleOperator.IS_SET:
        return bool(actual)
    if operator == RuleOperator.IS_NOT_SET:
        return not actual
    return False


def engagement_counts(lead_ids: Sequence[int]) -> dict[int, Counter[str]]:
    """Per lead, how many of each engagement it has: two queries for any number."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if not lead_ids:
        return counts
    links = (
        ActivityLink.objects.filter(
            object_type=LEAD_TYPE, object_id__in=lead_ids, activity__deleted_at__isnull=True
        )
        .values_list("object_id", "activity__kind", "activity__direction")
        .annotate(n=Count("id"))
        .order_by()
    )
    for lead_id, kind, direction, n in links:
        counts[lead_id][Engagement.ACTIVITY] += n
        if kind == ActivityKind.EMAIL and direction == Direction.INBOUND:
            counts[lead_id][Engagement.EMAIL_REPLY] += n
        if kind == ActivityKind.MEETING:
            counts[lead_id][Engagement.MEETING] += n
    submissions = (
        WebFormSubmission.objects.filter(lead_id__in=lead_ids)
        .values_list("lead_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for lead_id, n in submissions:
        counts[lead_id][Engagement.FORM_SUBMISSION] += n
    return counts


def active_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(active=True).order_by("position", "id"))


def explain(lead: Lead, rules: Iterable[ScoringRule], counts: Mapping[str, int]) -> Explanation:
    """The rules ``lead`` matches, each with the points it gives (and, for an
    engagement, how many times)."""
    matched: Explanation = []
    for rule in rules:
        if rule.engagement:
            times = counts.get(rule.engagement, 0)
            if rule.max_times is not None:
                times = min(times, rule.max_times)
            if times:
                matched.append(
                    {
                        "rule": rule.pk,
                        "name": rule.name,
                        "points": rule.points * times,
                        "times": times,
                    }
                )
        elif attribute_matches(rule.field, rule.operator, rule.value, lead):
            matched.append({"rule": rule.pk, "name": rule.name, "points": rule.points, "times": 1})
    return matched


def total(explanation: Explanation) -> int:
    return sum(item["points"] for item in explanation)


def score_of(lead: Lead, rules: Iterable[ScoringRule] | None = None) -> tuple[int, Explanation]:
    """``lead``'s score and explanation as the rules say now (``lead`` may be unsaved)."""
    counts = engagement_counts([lead.pk])[lead.pk] if lead.pk else Counter()
    explanation = explain(lead, active_rules() if rules is None else rules, counts)
    return total(explanation), explanation


def rescore(leads: Sequence[Lead], rules: Sequence[ScoringRule] | None = None) -> int:
    """Write the score of each of ``leads`` whose score or explanation changed (its
    version grows, so ETags follow); the number changed."""
    rules = active_rules() if rules is None else rules
    counts = engagement_counts([lead.pk for lead in leads])
    changed = 0
    for lead in leads:
        explanation = explain(lead, rules, counts[lead.pk])
        score = total(explanation)
        if (score, explanation) == (lead.score, lead.score_explanation):
            continue
        Lead.all_objects.filter(pk=lead.pk).update(
            score=score, score_explanation=explanation, version=F("version") + 1
        )
        lead.score, lead.score_explanation = score, explanation
        changed += 1
    return changed


def rescore_ids(lead_ids: Iterable[int]) -> int:
    with transaction.atomic():
        leads = list(Lead.all_objects.select_for_update().filter(pk__in=list(lead_ids)))
        return rescore(leads)


# Activities logged, changed or deleted move the scores of the leads they link to.


def _on_activity(event: OutboxEvent) -> None:
    if not event.aggregate_id.isdigit():
        return
    lead_ids = ActivityLink.objects.filter(
        activity_id=int(event.aggregate_id), object_type=LEAD_TYPE
    ).values_list("object_id", flat=True)
    rescore_ids(lead_ids)


def subscribe_all() -> None:
    subscribe("activity.*", _on_activity)


# The rules (admin settings)


def _check_rule(rule: ScoringRule) -> None:
    errors: dict[str, list[str]] = {}
    if rule.engagement:
        if rule.field or rule.operator or rule.value:
            errors["engagement"] = [_("A rule scores either an engagement or a field, not both.")]
    else:
        if rule.max_times is not None:
            errors["max_times"] = [_("Only engagement rules count times.")]
        try:
            validate_target(rule.field, field="field")
        except ValidationError as error:
            errors.update(error.message_dict)
        if not rule.operator:
            errors["operator"] = [_("Choose a condition.")]
        elif (
            rule.operator in (RuleOperator.EQUALS, RuleOperator.CONTAINS) and not rule.value.strip()
        ):
            errors["value"] = [_("Give the value to compare with.")]
    if errors:
        raise ValidationError(errors)


def _save(rule: ScoringRule, before: dict[str, Any] | None, actor: Actor) -> None:
    if save_setting(rule, before, actor=actor, check=_check_rule):
        rescore_all(actor=actor)


def scoring_rule_create(*, actor: Actor, values: Mapping[str, Any]) -> ScoringRule:
    """Add a scoring rule (admins); every lead is rescored in the background."""
    require_admin(actor.user)
    values = cleaned(values, RULE_FIELDS)
    with transaction.atomic():
        rule = ScoringRule(**values, created_by=actor.user)
        if "position" not in values:
            rule.position = next_position(ScoringRule)
        _save(rule, None, actor)
    return rule


def scoring_rule_update(
    rule: ScoringRule, *, actor: Actor, values: Mapping[str, Any]
) -> ScoringRule:
    require_admin(actor.user)
    values = cleaned(values, RULE_FIELDS)
    with transaction.atomic():
        rule = ScoringRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(rule)
        for name, value in values.items():
            setattr(rule, name, value)
        _save(rule, before, actor)
    return rule


def scoring_rule_delete(rule: ScoringRule, *, actor: Actor) -> None:
    require_admin(actor.user)
    with transaction.atomic():
        delete_setting(rule, actor=actor)
        rescore_all(actor=actor)


# Rescoring every lead, in the background


def rescore_all(*, actor: Actor) -> Job:
    """Start the job that recomputes every live lead's score (admins); each change of
    the rules calls it. A job still waiting in the queue reads the rules when it starts,
    so it serves every change made meanwhile, and no second one is queued."""
    require_admin(actor.user)
    recent = timezone.now() - RESCORE_DEDUPE
    waiting = Job.objects.filter(
        kind=RESCORE_JOB, status=JobStatus.QUEUED, created_at__gte=recent
    ).first()
    if waiting is not None:
        return waiting
    return job_start(actor=actor, kind=RESCORE_JOB, title=_("Recompute lead scores"))


@job_handler(RESCORE_JOB, authorize=require_admin)
def _rescore_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Every live lead, ``RESCORE_BATCH`` at a time in id order, each batch in its own
    short transaction, so the job can stop and run again at no harm."""
    rules = active_rules()
    leads = Lead.objects.order_by("pk")
    count = leads.count()
    done = changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(leads.select_for_update().filter(pk__gt=last_id)[:RESCORE_BATCH])
            if not batch:
                break
            changed += rescore(batch, rules)
        last_id = batch[-1].pk
        done += len(batch)
        progress(done, count)
    return {
        "message": _("%(changed)d of %(done)d scores changed.") % {"changed": changed, "done": done}
    }
