"""Saved views of any list page: a named set of filters, columns and sort.

A view is personal, or shared with everyone; anyone may open a shared view,
only its owner (or an admin) may delete it, and only its owner may change it
(an admin may change a shared one too). Each owner's views of one list carry
different names, so the menu never shows two alike of theirs. ``filters`` holds the list's
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


def _name_errors(name: str, *, owner_id: int, object_type: str, pk: int | None) -> list[str]:
    if not name:
        return [_("Give the view a name.")]
    if len(name) > SavedView._meta.get_field("name").max_length:
        return [_("Use a shorter name.")]
    namesakes = SavedView.objects.filter(
        owner_id=owner_id, object_type=object_type, name__iexact=name
    )
    if pk is not None:
        namesakes = namesakes.exclude(pk=pk)
    if namesakes.exists():
        return [_("A view named “%(name)s” already exists.") % {"name": name}]
    return []


def _query_errors(
    filters: dict[str, FilterValue], columns: list[str], sort: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    well_formed = isinstance(filters, dict) and all(
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
    return errors


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
    name = name.strip()
    columns = list(columns)
    errors = _query_errors(filters, columns, sort)
    name_errors = _name_errors(name, owner_id=actor.user.pk, object_type=object_type, pk=None)
    if name_errors:
        errors["name"] = name_errors
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        view = SavedView.objects.create(
            object_type=object_type,
            owner=actor.user,
            shared=shared,
            name=name,
            filters=filters,
            columns=columns,
            sort=sort,
        )
        audit_log(
            actor=actor, action=AuditAction.CREATE, obj=view, changes=diff({}, snapshot(view))
        )
    return view


def can_change(user: User | None, view: SavedView) -> bool:
    """Whether ``user`` may rename, share or update ``view``: its owner may, and an
    admin may change a shared view (a personal one stays its owner's business)."""
    if user is None:
        return False
    return view.owner_id == user.pk or (view.shared and user.is_admin)


def saved_view_update(
    view: SavedView,
    *,
    actor: Actor,
    name: str | None = None,
    shared: bool | None = None,
    filters: dict[str, FilterValue] | None = None,
    columns: list[str] | None = None,
    sort: str | None = None,
) -> SavedView:
    """Rename, share or unshare ``view``, or replace its filters, columns and sort;
    an argument left ``None`` keeps what the view has."""
    with transaction.atomic():
        view = SavedView.objects.select_for_update().get(pk=view.pk)
        if not can_change(actor.user, view):
            raise PermissionDenied
        before = snapshot(view)
        if name is not None:
            view.name = name.strip()
        if shared is not None:
            view.shared = shared
        if filters is not None:
            view.filters = filters
        if columns is not None:
            view.columns = list(columns)
        if sort is not None:
            view.sort = sort
        errors = _query_errors(view.filters, view.columns, view.sort)
        # The owner's names must differ, whoever renames the view.
        name_errors = _name_errors(
            view.name, owner_id=view.owner_id, object_type=view.object_type, pk=view.pk
        )
        if name_errors:
            errors["name"] = name_errors
        if errors:
            raise ValidationError(errors)
        changes = diff(before, snapshot(view))
        if changes:
            view.save()
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=view, changes=changes)
    return view


def saved_view_delete(view: SavedView, *, actor: Actor) -> None:
    """Delete a view; only its owner or an admin may."""
    user = actor.user
    if user is None or (view.owner_id != user.pk and not user.is_admin):
        raise PermissionDenied
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=view, changes={})
        view.delete()
