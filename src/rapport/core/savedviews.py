"""Saved views of any list page: a named set of filters, columns and sort.

A view is personal, or shared with everyone; anyone may open a shared view,
only its owner (or an admin) may delete it. ``filters`` holds the list's
query parameters as its FilterSet reads them (one value as a string, several
as a list), so the page, the API and exports select the same records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.models import AuditAction, SavedView

if TYPE_CHECKING:
    from rapport.accounts.models import User

MAX_FILTERS = 50
MAX_COLUMNS = 60
FilterValue = str | list[str]


def visible(user: User, object_type: str | None = None) -> models.QuerySet[SavedView]:
    """The views ``user`` may open: their own and the shared ones."""
    views = SavedView.objects.filter(Q(owner_id=user.pk) | Q(shared=True))
    if object_type is not None:
        views = views.filter(object_type=object_type)
    return views


def _clean(
    name: str, filters: dict[str, FilterValue], columns: list[str], sort: str
) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("Give the view a name.")]
    elif len(name) > SavedView._meta.get_field("name").max_length:
        errors["name"] = [_("Use a shorter name.")]
    well_formed = all(
        isinstance(key, str)
        and (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        )
        for key, value in filters.items()
    )
    if not well_formed or len(filters) > MAX_FILTERS:
        errors["filters"] = [_("The filters are not valid.")]
    if len(columns) > MAX_COLUMNS or not all(isinstance(column, str) for column in columns):
        errors["columns"] = [_("The columns are not valid.")]
    if len(sort) > SavedView._meta.get_field("sort").max_length:
        errors["sort"] = [_("The sort order is not valid.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "filters": filters, "columns": columns, "sort": sort}


def saved_view_create(
    *,
    actor: Actor,
    object_type: str,
    name: str,
    shared: bool,
    filters: dict[str, FilterValue],
    columns: list[str],
    sort: str = "",
) -> SavedView:
    """Save a list setup as ``actor``'s view of ``object_type`` lists."""
    if actor.user is None:
        raise PermissionDenied
    values = _clean(name, filters, list(columns), sort)
    with transaction.atomic():
        view = SavedView.objects.create(
            object_type=object_type, owner=actor.user, shared=shared, **values
        )
        audit_log(
            actor=actor, action=AuditAction.CREATE, obj=view, changes=diff({}, snapshot(view))
        )
    return view


def saved_view_delete(view: SavedView, *, actor: Actor) -> None:
    """Delete a view; only its owner or an admin may."""
    user = actor.user
    if user is None or (view.owner_id != user.pk and not user.is_admin):
        raise PermissionDenied
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=view, changes={})
        view.delete()
