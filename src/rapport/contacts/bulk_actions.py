"""Bulk actions of the company and contact lists: which service each action calls, and
the background job that runs one over every row the list's filters match.

The job reads the rows again as its owner when it runs, through the same list
query as the page, so it never touches a record its owner could not see,
however its parameters were made. It walks them in id order, one batch per
query (``id > the last one done``): a record the action moves out of the
filters (a tag taken off, a row deleted) is neither seen twice nor makes the
next batch skip rows, no transaction stays open for the whole job, and the
owner can cancel between batches. Each record goes through the same service
as a ticked row, so its permission check, audit entry and event are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from rapport.accounts.models import User
from rapport.contacts import exports, queries, services
from rapport.contacts.forms import BulkAction
from rapport.contacts.models import Tag
from rapport.core.actors import Actor
from rapport.core.jobs import JobError, Progress, job_handler
from rapport.core.models import Job, Source

BULK_JOB_KIND = "contacts.bulk"
BATCH_SIZE = 50
# Failures kept with their reasons in the job's result; past this, only counted.
KEPT_FAILURES = 100

LIST_QUERIES = {
    "contacts.company": queries.company_list,
    "contacts.contact": queries.contact_list,
}
# What a job may do to all matching rows; merge takes two ticked rows, export has its own job.
JOB_ACTIONS = {
    "contacts.company": (
        BulkAction.ASSIGN_OWNER,
        BulkAction.ADD_TAG,
        BulkAction.REMOVE_TAG,
        BulkAction.DELETE,
    ),
    "contacts.contact": (
        BulkAction.ASSIGN_OWNER,
        BulkAction.ADD_TAG,
        BulkAction.REMOVE_TAG,
        BulkAction.ADD_TO_LIST,
        BulkAction.DELETE,
    ),
}


def register(
    object_type: str, list_query: Callable[..., Any], job_actions: tuple[str, ...]
) -> None:
    """Let the list page of ``object_type`` (another app's) run its bulk actions here."""
    LIST_QUERIES[object_type] = list_query
    JOB_ACTIONS[object_type] = job_actions


# The parameter naming what the action needs: the new owner, the tag or the list.
TARGET_PARAMS = {
    BulkAction.ASSIGN_OWNER: "new_owner",
    BulkAction.ADD_TAG: "tag",
    BulkAction.REMOVE_TAG: "tag",
    BulkAction.ADD_TO_LIST: "static_list",
}

DONE_MESSAGES = {
    BulkAction.ASSIGN_OWNER: ngettext_lazy(
        "%(count)s record reassigned.", "%(count)s records reassigned.", "count"
    ),
    BulkAction.ADD_TAG: ngettext_lazy(
        "Tag added to %(count)s record.", "Tag added to %(count)s records.", "count"
    ),
    BulkAction.REMOVE_TAG: ngettext_lazy(
        "Tag removed from %(count)s record.", "Tag removed from %(count)s records.", "count"
    ),
    BulkAction.ADD_TO_LIST: ngettext_lazy(
        "%(count)s contact added to the list.", "%(count)s contacts added to the list.", "count"
    ),
    BulkAction.DELETE: ngettext_lazy(
        "%(count)s record moved to the trash.", "%(count)s records moved to the trash.", "count"
    ),
}


def apply_bulk(
    action: str, records: list[models.Model], data: dict[str, Any], actor: Actor
) -> services.BulkResult:
    """Run ``action`` on ``records`` through its service; ``data`` holds the new
    ``owner``, the ``tag`` or the ``static_list`` it needs. Raises ``PermissionDenied``
    when the actor may not change the list."""
    if action == BulkAction.ASSIGN_OWNER:
        return services.bulk_assign_owner(records, actor=actor, owner=data["owner"])
    if action in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG):
        adding = action == BulkAction.ADD_TAG
        return services.bulk_tag(records, actor=actor, tag=data["tag"], add=adding)
    if action == BulkAction.ADD_TO_LIST:
        try:
            added = services.list_add(data["static_list"], records, actor=actor)
        except ValidationError as error:
            # The list takes the whole batch or none of it.
            reason = " ".join(error.messages)
            return services.BulkResult(errors=[(record.pk, reason) for record in records])
        return services.BulkResult(done=added)
    return services.bulk_delete(records, actor=actor)


def outcome_message(action: str, done: int, failed: int) -> str:
    parts = []
    if done:
        parts.append(DONE_MESSAGES[action] % {"count": done})
    if failed:
        parts.append(
            ngettext(
                "%(count)s record was not changed.", "%(count)s records were not changed.", failed
            )
            % {"count": failed}
        )
    return " ".join(parts) or _("Nothing needed changing.")


# The job ---------------------------------------------------------------------------------


def _id_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def clean_bulk_params(params: dict[str, Any]) -> dict[str, Any]:
    """``object_type``, ``action``, ``filters`` (as the list page's query string has
    them), the id of the ``new_owner``, ``tag`` or ``static_list`` the action needs, and
    the ``request_id`` that started it, for the audit trail."""
    object_type = params.get("object_type")
    action = params.get("action")
    filters = params.get("filters") or {}
    targets = {name: params.get(name) for name in set(TARGET_PARAMS.values())}
    request_id = params.get("request_id") or ""
    well_formed = (
        object_type in JOB_ACTIONS
        and action in JOB_ACTIONS[object_type]
        and exports.well_formed_filters(filters)
        and all(_id_or_none(value) for value in targets.values())
        and (action not in TARGET_PARAMS or targets[TARGET_PARAMS[action]] is not None)
        and isinstance(request_id, str)
    )
    if not well_formed:
        raise ValidationError(_("The bulk action's parameters are not valid."))
    return {
        "object_type": object_type,
        "action": action,
        "filters": filters,
        **targets,
        "request_id": request_id[:100],
    }


def _signed_in(user: User | None) -> None:
    if user is None:
        raise PermissionDenied


def _targets(job: Job) -> dict[str, Any]:
    """The owner, tag or list the action needs, read now: it may be gone since."""
    params = job.params
    action = params["action"]
    if action == BulkAction.ASSIGN_OWNER:
        owner = User.objects.filter(pk=params["new_owner"], is_active=True).first()
        if owner is None:
            raise JobError(_("The chosen owner can no longer own records."))
        return {"owner": owner}
    if action in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG):
        tag = Tag.objects.filter(pk=params["tag"]).first()
        if tag is None:
            raise JobError(_("The chosen tag no longer exists."))
        return {"tag": tag}
    if action == BulkAction.ADD_TO_LIST:
        static_list = queries.visible_lists(job.owner).filter(pk=params["static_list"]).first()
        if static_list is None:
            raise JobError(_("The chosen list no longer exists."))
        return {"static_list": static_list}
    return {}


def _matching(job: Job) -> models.QuerySet:
    """The records the job's filters match, as its owner sees them now."""
    list_query = LIST_QUERIES[job.params["object_type"]]
    try:
        filterset, _ordering = list_query(job.owner, job.params["filters"])
    except queries.InvalidFilters as error:
        raise JobError(" ".join(error.messages)) from None
    rows = filterset.qs
    if job.params["action"] in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG):
        rows = rows.prefetch_related("tags")
    return rows


# Resumable: run again, each record already changed is left as it is (no audit
# entry, no event), so the action takes effect once.
@job_handler(BULK_JOB_KIND, authorize=_signed_in, clean_params=clean_bulk_params, resumable=True)
def bulk_action_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Run a list's bulk action on every record its filters match, batch by batch."""
    action = job.params["action"]
    actor = Actor(user=job.owner, source=Source.UI, request_id=job.params["request_id"])
    data = _targets(job)
    rows = _matching(job)
    total = rows.count()
    progress(0, total)
    done = seen = 0
    failures: list[dict[str, Any]] = []
    failed = 0
    last_id = 0
    while batch := list(rows.filter(pk__gt=last_id).order_by("pk")[:BATCH_SIZE]):
        try:
            result = apply_bulk(action, batch, data, actor)
        except PermissionDenied:
            raise JobError(_("You may not change this list.")) from None
        done += result.done
        failed += len(result.errors)
        names = {record.pk: str(record) for record in batch}
        failures.extend(
            {"id": pk, "record": names.get(pk, f"#{pk}"), "reason": reason}
            for pk, reason in result.errors[: KEPT_FAILURES - len(failures)]
        )
        seen += len(batch)
        last_id = batch[-1].pk
        # Raises JobCancelled once the owner cancelled: the batches done stay done.
        progress(seen, max(total, seen))
    return {
        "done": done,
        "failed": failed,
        "failures": failures,
        "failures_not_listed": failed - len(failures),
        "message": outcome_message(action, done, failed),
    }
