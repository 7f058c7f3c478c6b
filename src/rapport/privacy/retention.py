"""Retention policies: delete or anonymise records left untouched for a number of days.

Each object type a policy may name is a ``Target`` here: its model, the conditions
an admin may add ("leads not converted"), how its records are anonymised, and which
of them are anonymised already (so a run does not count them again). A record is
untouched when neither its ``updated_at`` nor, for types that track one, its last
activity (``last_contacted_at``) is within the policy's days.

"Delete" anonymises first (so the audit log keeps no personal values) and then
deletes for good, as purging from the trash does. The worker applies enabled
policies hourly (``apply_enabled``), in batches of ``BATCH`` records per
transaction and at most ``MAX_PER_RUN`` per policy and run, recording a
``RetentionRun`` with its counts and an audit entry.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.activities.models import Activity
from rapport.contacts.models import Contact
from rapport.core import search
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction, Record
from rapport.core.schedule import every
from rapport.core.services import event_name
from rapport.privacy import erasure
from rapport.privacy.models import ErasureRecord, RetentionAction, RetentionPolicy, RetentionRun
from rapport.sales.models import DealContact, Lead, LeadStatus, Order

logger = logging.getLogger(__name__)

BATCH = 200
MAX_PER_RUN = 5000
PREVIEW_SIZE = 20
RUN_EVERY_SECONDS = 60 * 60


def _erase_contacts(ids: list[int]) -> None:
    erasure.erase_people(contacts=Contact.all_objects.filter(pk__in=ids), actor=Actor.system())


@dataclass(frozen=True)
class Target:
    key: str
    label: Promise
    model: type[Record]
    anonymise: Callable[[list[int]], None]
    # Records already anonymised: a policy leaves them alone.
    anonymised: Q
    conditions: dict[str, tuple[Promise, Q]] = field(default_factory=dict)
    activity_field: str | None = "last_contacted_at"


TARGETS: dict[str, Target] = {
    "sales.lead": Target(
        key="sales.lead",
        label=gettext_lazy("Leads"),
        model=Lead,
        anonymise=erasure.erase_leads,
        anonymised=Q(first_name="", last_name="", email="", phone=""),
        conditions={
            "not_converted": (
                gettext_lazy("Leads not converted"),
                ~Q(status=LeadStatus.CONVERTED),
            ),
        },
    ),
    "contacts.contact": Target(
        key="contacts.contact",
        label=gettext_lazy("Contacts"),
        model=Contact,
        anonymise=_erase_contacts,
        anonymised=Q(
            Exists(
                ErasureRecord.objects.filter(
                    object_type="contacts.contact", object_id=OuterRef("pk")
                )
            )
        ),
        conditions={
            "no_business": (
                gettext_lazy("Contacts with no deal and no order"),
                ~Q(Exists(DealContact.objects.filter(contact=OuterRef("pk"))))
                & ~Q(Exists(Order.all_objects.filter(contact=OuterRef("pk")))),
            ),
        },
    ),
    "activities.activity": Target(
        key="activities.activity",
        label=gettext_lazy("Activities"),
        model=Activity,
        anonymise=erasure.erase_activities,
        anonymised=Q(subject="", body="", email_from=""),
        conditions={
            "emails": (gettext_lazy("Emails only"), Q(kind="email")),
        },
        activity_field=None,
    ),
}


def describe(policy: RetentionPolicy) -> str:
    """What a policy covers, in words: "Leads (Leads not converted)"."""
    target = TARGETS.get(policy.object_type)
    if target is None:
        return policy.object_type
    if policy.condition in target.conditions:
        return str(target.conditions[policy.condition][0])
    return str(target.label)


def condition_choices() -> list[tuple[str, str]]:
    return [
        (key, str(label))
        for target in TARGETS.values()
        for key, (label, _q) in target.conditions.items()
    ]


def _target(policy: RetentionPolicy) -> Target:
    target = TARGETS.get(policy.object_type)
    if target is None:
        raise ValidationError({"object_type": [_("Choose a kind of record from the list.")]})
    if policy.condition and policy.condition not in target.conditions:
        raise ValidationError(
            {
                "condition": [
                    _("This condition does not apply to %(records)s.") % {"records": target.label}
                ]
            }
        )
    return target


def matching(policy: RetentionPolicy, *, now: datetime.datetime | None = None) -> models.QuerySet:
    """The records ``policy`` would delete or anonymise now, oldest first."""
    target = _target(policy)
    cutoff = (now or timezone.now()) - datetime.timedelta(days=policy.days)
    records = target.model.all_objects.filter(updated_at__lt=cutoff)
    if target.activity_field:
        records = records.filter(
            Q(**{f"{target.activity_field}__isnull": True})
            | Q(**{f"{target.activity_field}__lt": cutoff})
        )
    if policy.condition:
        records = records.filter(target.conditions[policy.condition][1])
    if policy.action == RetentionAction.ANONYMISE:
        records = records.exclude(target.anonymised)
    return records.order_by("updated_at", "pk")


@dataclass(frozen=True)
class Preview:
    count: int
    first: list[Record]


def preview(policy: RetentionPolicy) -> Preview:
    records = matching(policy)
    return Preview(count=records.count(), first=list(records[:PREVIEW_SIZE]))


def _delete_for_good(target: Target, ids: list[int], actor: Actor) -> None:
    target.anonymise(ids)
    for obj in target.model.all_objects.filter(pk__in=ids):
        # As ``record_purge`` does, without its admin check: the policy's author was one.
        audit_log(actor=actor, action=AuditAction.PURGE, obj=obj, changes={})
        emit(event_name(obj, "purged"), obj=obj, actor=actor, payload={})
        search.remove(obj)
        obj.delete()


def apply(policy: RetentionPolicy, *, actor: Actor | None = None) -> RetentionRun:
    """Apply ``policy`` once (whether enabled or not), in batches; the run's record."""
    actor = actor or Actor.system()
    target = _target(policy)
    run = RetentionRun.objects.create(policy=policy)
    done = failed = 0
    cutoff_now = timezone.now()
    while done + failed < MAX_PER_RUN:
        ids = list(matching(policy, now=cutoff_now).values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        try:
            with transaction.atomic():
                if policy.action == RetentionAction.DELETE:
                    _delete_for_good(target, ids, actor)
                else:
                    target.anonymise(ids)
        except Exception:
            logger.exception("retention policy %s failed on a batch", policy.pk)
            failed += len(ids)
            break
        done += len(ids)
    with transaction.atomic():
        RetentionRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), processed=done, failed=failed
        )
        RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=timezone.now())
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=policy,
            changes={f"retention.{policy.action}": [None, done]},
        )
    run.refresh_from_db()
    return run


@every(RUN_EVERY_SECONDS, name="privacy.retention")
def apply_enabled() -> list[RetentionRun]:
    """Apply every enabled policy not run within the last interval; each is claimed
    with a conditional update, so two workers never apply one policy at once."""
    runs = []
    due_before = timezone.now() - datetime.timedelta(seconds=RUN_EVERY_SECONDS - 60)
    for policy in RetentionPolicy.objects.filter(enabled=True):
        claimed = (
            RetentionPolicy.objects.filter(pk=policy.pk, enabled=True)
            .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=due_before))
            .update(last_run_at=timezone.now())
        )
        if claimed:
            runs.append(apply(policy))
    return runs


def policy_save(*, actor: Actor, policy: RetentionPolicy) -> RetentionPolicy:
    """Create or change a policy (admins only). A changed policy is disabled again, so
    its new preview is seen before it runs."""
    from rapport.core.permissions import require_admin

    if actor.user is not None:
        require_admin(actor.user)
    _target(policy)
    if policy.days < 1:
        raise ValidationError({"days": [_("Give at least one day.")]})
    creating = policy.pk is None
    before = {} if creating else snapshot(RetentionPolicy.objects.get(pk=policy.pk))
    with transaction.atomic():
        policy.enabled = False
        if creating:
            policy.created_by = actor.user
        policy.save()
        after = snapshot(policy)
        changes = {
            name: [before.get(name), value]
            for name, value in after.items()
            if before.get(name) != value
        }
        audit_log(
            actor=actor,
            action=AuditAction.CREATE if creating else AuditAction.UPDATE,
            obj=policy,
            changes=changes,
        )
    return policy


def policy_enable(*, actor: Actor, policy: RetentionPolicy, enabled: bool) -> RetentionPolicy:
    from rapport.core.permissions import require_admin

    if actor.user is not None:
        require_admin(actor.user)
    with transaction.atomic():
        before = policy.enabled
        policy.enabled = enabled
        policy.save(update_fields=["enabled", "updated_at"])
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=policy,
            changes={"enabled": [before, enabled]},
        )
    return policy


def policy_delete(*, actor: Actor, policy: RetentionPolicy) -> None:
    from rapport.core.permissions import require_admin

    if actor.user is not None:
        require_admin(actor.user)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=policy, changes={})
        policy.delete()
