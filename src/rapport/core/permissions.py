"""The one permission layer: which records a user may see or change.

Every read goes through ``scope``; every write checks ``can`` (or ``require``)
in its service. Roles grant, per object type and action, a scope of none /
own / team / all (``accounts.Role.permissions``). A record outside a user's
view scope does not exist for them: ``get_visible_or_404`` answers 404, never
403. A record they can see but not change answers 403 on the change.

A record is a user's own when they are its ``owner``. A model may name more
fields that make it someone's own: ``permission_owner_fields`` (users, e.g. a
task's assignee) and ``permission_owner_team_fields`` (teams whose members
count as owners, e.g. a task given to a team). The team scope then reaches
those users' teammates too.

A record may also be shared (``core.models.RecordShare``) with a user or a team,
beyond the role's scope: a share with read access lets them view it, one with edit
access also change it. ``scope`` and ``can`` include shared records for those two
actions only; delete, export, merge and the rest follow the role alone.

Field rules: a role may hide chosen fields of an object type or make them read-only
(``accounts.Role.field_rules``). ``hidden_fields`` and ``read_only_fields`` are the
one answer every surface asks: pages, forms, lists, filters, sorts, the API, exports,
imports, search and history. ``check_field_writes`` is what the record services call
so that no surface can write what the user may not change. Custom fields marked
sensitive are hidden from every role but admin roles unless the role's rules name
them visible or read-only.

A record may also be private: a model naming ``permission_private_fields`` (a user
field and a team field, e.g. an email synced from a personal mailbox) keeps a record
whose user field is set visible to that user alone, and one whose team field is set
to that team's members alone, whatever the role grants, admins included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from rapport.accounts.models import FieldAccess, Scope
from rapport.core.models import PROTECTED_FIELDS, RecordShare, ShareAccess

if TYPE_CHECKING:
    from rapport.accounts.models import User

ModelT = TypeVar("ModelT", bound=models.Model)


def object_type(model: type[models.Model] | models.Model) -> str:
    """The label roles use for a model, e.g. ``contacts.contact``."""
    return model._meta.label_lower


def scope_of(user: User | None, model: type[models.Model], action: str) -> str:
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope.NONE
    if user.is_superuser:
        return Scope.ALL
    if user.role is None:
        return Scope.NONE
    return user.role.scope_for(object_type(model), action)


def team_ids(user: User) -> list[int]:
    """The user's team ids, read once per user object."""
    cached = getattr(user, "_rapport_team_ids", None)
    if cached is None:
        cached = list(user.teams.values_list("id", flat=True))
        user._rapport_team_ids = cached  # type: ignore[attr-defined]
    return cached


def owner_fields(model: type[models.Model] | None) -> tuple[str, ...]:
    """The user fields that make a record of ``model`` someone's own."""
    return getattr(model, "permission_owner_fields", ("owner",))


def owner_team_fields(model: type[models.Model] | None) -> tuple[str, ...]:
    """The team fields whose members count as owners of a record of ``model``."""
    return getattr(model, "permission_owner_team_fields", ())


def private_fields(model: type[models.Model] | None) -> tuple[str, str] | None:
    """The user field and team field that, when set, make a record of ``model`` private."""
    return getattr(model, "permission_private_fields", None)


def privacy_filter(user: User, model: type[models.Model] | None) -> Q | None:
    """The condition a record of ``model`` must meet for ``user`` to see it when it is
    private; ``None`` for models whose records are never private."""
    fields = private_fields(model)
    if fields is None:
        return None
    user_field, team_field = fields
    return (
        Q(**{f"{user_field}_id__isnull": True, f"{team_field}_id__isnull": True})
        | Q(**{f"{user_field}_id": user.pk})
        | Q(**{f"{team_field}_id__in": team_ids(user)})
    )


def is_private_from(user: User, obj: models.Model) -> bool:
    fields = private_fields(type(obj))
    if fields is None:
        return False
    private_user = getattr(obj, f"{fields[0]}_id", None)
    private_team = getattr(obj, f"{fields[1]}_id", None)
    if private_user is not None:
        return private_user != user.pk
    return private_team is not None and private_team not in team_ids(user)


def _any_of(conditions: list[Q]) -> Q:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def scope_filter(user: User, scope: str, model: type[models.Model] | None = None) -> Q | None:
    """The condition a record (of ``model``, when it names more owners) must meet for
    ``scope``; ``None`` means no condition."""
    if scope == Scope.ALL:
        return None
    if scope not in (Scope.OWN, Scope.TEAM):
        return Q(pk__in=[])
    owners = owner_fields(model)
    team_owners = owner_team_fields(model)
    teams = team_ids(user) if team_owners or scope == Scope.TEAM else []
    own = [Q(**{f"{name}_id": user.pk}) for name in owners]
    own += [Q(**{f"{name}_id__in": teams}) for name in team_owners]
    if scope == Scope.OWN:
        return _any_of(own)
    teammates = user.teams.through.objects.filter(team_id__in=teams).values("user_id")
    return _any_of(
        [*own, Q(team_id__in=teams), *(Q(**{f"{name}_id__in": teammates}) for name in owners)]
    )


# The share accesses that grant each action shares reach.
SHARE_ACTIONS = {"view": (ShareAccess.READ, ShareAccess.EDIT), "edit": (ShareAccess.EDIT,)}


def shareable(model: type[models.Model]) -> bool:
    """Whether records of ``model`` can be shared: every owned CRM record."""
    from rapport.core.models import Record

    return issubclass(model, Record)


def shared_ids(
    user: User, model: type[models.Model], action: str
) -> models.QuerySet[RecordShare] | None:
    """The ids of the records of ``model`` shared with ``user`` (or one of their teams)
    for ``action``, as a subquery; ``None`` when shares do not reach ``action``."""
    accesses = SHARE_ACTIONS.get(action)
    if accesses is None or not shareable(model):
        return None
    content_type_id = ContentType.objects.get_for_model(model).pk
    teams = team_ids(user)
    # Each branch names its index's prefix, (content type, user) and (content type,
    # team): two index range scans, on SQLite as on PostgreSQL.
    whom = Q(content_type_id=content_type_id, user_id=user.pk)
    if teams:
        whom |= Q(content_type_id=content_type_id, team_id__in=teams)
    shares = RecordShare.objects.filter(whom)
    if action != "view":
        shares = shares.filter(access__in=accesses)
    return shares.order_by().values("object_id")


def scope(
    queryset: models.QuerySet[ModelT],
    user: User | None,
    action: str = "view",
    *,
    own_only: bool = False,
) -> models.QuerySet[ModelT]:
    """Narrow ``queryset`` to the records ``user`` may ``action``; with ``own_only``, to
    those of them that are the user's own. Every scope but none reaches one's own
    records, so that is the own scope's condition whatever the role grants: cheaper to
    build and run than the team scope's, which reads the teammates in subqueries.
    Records shared with the user count too, except with ``own_only``."""
    granted = scope_of(user, queryset.model, action)
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    shared = None if own_only or granted == Scope.ALL else shared_ids(user, queryset.model, action)
    if granted == Scope.NONE and shared is None:
        return queryset.none()
    if granted == Scope.NONE:
        condition = Q(pk__in=shared)
    else:
        # ``None`` only for the all scope, which needs no shares.
        condition = scope_filter(user, Scope.OWN if own_only else granted, queryset.model)
        if shared is not None:
            condition = condition | Q(pk__in=shared)
    if condition is not None:
        queryset = queryset.filter(condition)
    privacy = privacy_filter(user, queryset.model)
    return queryset if privacy is None else queryset.filter(privacy)


def is_shared_with(user: User, action: str, obj: models.Model) -> bool:
    shared = shared_ids(user, type(obj), action)
    return shared is not None and shared.filter(object_id=obj.pk).exists()


def can(user: User | None, action: str, obj: models.Model) -> bool:
    """Whether ``user`` may ``action`` this record."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_private_from(user, obj):
        return False
    if _granted(user, action, obj):
        return True
    return is_shared_with(user, action, obj)


def _granted(user: User, action: str, obj: models.Model) -> bool:
    """Whether the role alone lets ``user`` ``action`` this record."""
    granted = scope_of(user, type(obj), action)
    if granted == Scope.NONE:
        return False
    if granted == Scope.ALL:
        return True
    owner_ids = {getattr(obj, f"{name}_id", None) for name in owner_fields(type(obj))} - {None}
    if user.pk in owner_ids:
        return True
    team_owners = owner_team_fields(type(obj))
    teams = set(team_ids(user)) if team_owners or granted == Scope.TEAM else set()
    if any(getattr(obj, f"{name}_id", None) in teams for name in team_owners):
        return True
    if granted == Scope.OWN:
        return False
    if getattr(obj, "team_id", None) in teams:
        return True
    membership = user.teams.through.objects
    return bool(owner_ids) and membership.filter(user_id__in=owner_ids, team_id__in=teams).exists()


def can_create(user: User | None, model: type[models.Model]) -> bool:
    return scope_of(user, model, "create") != Scope.NONE


def require(user: User | None, action: str, obj: models.Model) -> None:
    """Raise ``Http404`` for a record the user cannot see, ``PermissionDenied`` if they
    can see it but not ``action`` it."""
    if not can(user, "view", obj):
        raise Http404
    if action != "view" and not can(user, action, obj):
        raise PermissionDenied


def get_visible_or_404(
    queryset: models.QuerySet[ModelT], user: User | None, **lookup: object
) -> ModelT:
    try:
        return scope(queryset, user, "view").get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def require_admin(user: User | None) -> None:
    if user is None or not user.is_authenticated or not user.is_admin:
        raise PermissionDenied


# Field rules

# Fields no rule may name: what the services set, and what scopes and ownership read.
UNRULED_FIELDS = PROTECTED_FIELDS | {"owner", "team"}
CUSTOM_RULE_PREFIX = "custom."


def rule_fields(model: type[models.Model]) -> list[tuple[str, str]]:
    """The fields of ``model`` a role's rules may hide or make read-only, as (name,
    label): its editable fields that a new record can be saved without (a required
    field a role cannot fill would stop it creating any), then its custom fields."""
    from rapport.core.customfields import definitions_for

    fields = [
        (field.name, str(field.verbose_name))
        for field in model._meta.concrete_fields
        if field.editable
        and field.name not in UNRULED_FIELDS
        and (field.blank or field.has_default() or field.null)
    ]
    fields += [
        (f"{CUSTOM_RULE_PREFIX}{definition.key}", definition.label)
        for definition in definitions_for(model)
    ]
    return fields


def sensitive_custom_fields(model: type[models.Model]) -> set[str]:
    """The custom fields of ``model`` marked sensitive, as rules name them."""
    from rapport.core.customfields import definitions_for

    return {
        f"{CUSTOM_RULE_PREFIX}{definition.key}"
        for definition in definitions_for(model)
        if definition.sensitive
    }


def _sensitive_by_type(user: User) -> dict[str, set[str]]:
    """The sensitive custom fields of every object type, read once per user object (one
    query however many types a page shows)."""
    cached = getattr(user, "_rapport_sensitive", None)
    if cached is None:
        from rapport.core.models import CustomFieldDefinition

        cached = {}
        rows = CustomFieldDefinition.objects.filter(sensitive=True, active=True).values_list(
            "content_type__app_label", "content_type__model", "key"
        )
        for app_label, model_name, key in rows:
            cached.setdefault(f"{app_label}.{model_name}", set()).add(f"{CUSTOM_RULE_PREFIX}{key}")
        user._rapport_sensitive = cached  # type: ignore[attr-defined]
    return cached


def field_access(user: User | None, model: type[models.Model]) -> dict[str, str]:
    """``{field: FieldAccess}`` for the fields of ``model`` that ``user`` may not see or
    not change; the rest are normal. Superusers have no rules; sensitive custom fields
    are hidden unless the role is an admin role or its rules name them."""
    if user is None or not user.is_authenticated or user.is_superuser or user.role is None:
        return {}
    cache = getattr(user, "_rapport_field_access", None)
    if cache is None:
        cache = user._rapport_field_access = {}  # type: ignore[attr-defined]
    label = object_type(model)
    if label not in cache:
        role = user.role
        rules = dict((role.field_rules or {}).get(label) or {})
        if not role.is_admin and hasattr(model, "custom"):
            for name in _sensitive_by_type(user).get(label, ()):
                rules.setdefault(name, FieldAccess.HIDDEN)
        cache[label] = {
            name: access
            for name, access in rules.items()
            if access in (FieldAccess.HIDDEN, FieldAccess.READ_ONLY)
        }
    return cache[label]


def hidden_fields(user: User | None, model: type[models.Model]) -> frozenset[str]:
    """The fields of ``model`` that ``user`` may not see (custom ones as ``custom.<key>``),
    with the fields a model derives from them (``field_rule_companions``, e.g. a deal's
    amount in the base currency goes with its amount)."""
    hidden = {
        name for name, access in field_access(user, model).items() if access == FieldAccess.HIDDEN
    }
    companions: dict[str, tuple[str, ...]] = getattr(model, "field_rule_companions", {})
    for name in list(hidden):
        hidden.update(companions.get(name, ()))
    return frozenset(hidden)


def read_only_fields(user: User | None, model: type[models.Model]) -> frozenset[str]:
    """The fields of ``model`` that ``user`` may see but not change."""
    return frozenset(
        name
        for name, access in field_access(user, model).items()
        if access == FieldAccess.READ_ONLY
    )


def hidden_custom_keys(user: User | None, model: type[models.Model]) -> frozenset[str]:
    """The keys of the custom fields of ``model`` that ``user`` may not see."""
    return frozenset(
        name.removeprefix(CUSTOM_RULE_PREFIX)
        for name in hidden_fields(user, model)
        if name.startswith(CUSTOM_RULE_PREFIX)
    )


def visible_custom(user: User | None, model: type[models.Model], custom: dict | None) -> dict:
    """``custom`` values without those ``user`` may not see."""
    hidden = hidden_custom_keys(user, model)
    return {key: value for key, value in (custom or {}).items() if key not in hidden}


def check_field_writes(user: User | None, model: type[models.Model], changed: object) -> None:
    """Refuse, as a field error each, a change of a field ``user`` may not change
    (hidden or read-only); ``changed`` names fields as the audit does."""
    access = field_access(user, model)
    # What the services compute (a document's totals) changes with what the user may
    # change; a rule hides it, never stops it being kept up to date.
    computed = set(getattr(model, "computed_fields", ()))
    refused = sorted(
        name
        for name in changed  # type: ignore[attr-defined]
        if name in access and name not in computed
    )
    if refused:
        raise ValidationError({name: [_("You may not change this field.")] for name in refused})


def redact_changes(
    user: User | None, model: type[models.Model], changes: dict[str, object]
) -> dict[str, object]:
    """Audit ``changes`` ({field: [before, after]}) without the fields ``user`` may not
    see, so history and timelines tell neither their values nor that they changed."""
    hidden = hidden_fields(user, model)
    return {name: values for name, values in changes.items() if name not in hidden}


def mask_hidden_fields(user: User | None, obj: ModelT) -> ModelT:
    """Blank, on this in-memory ``obj`` only, the fields ``user`` may not see, so a page
    that shows it whole (a header, a summary) cannot show them. Only for reading: the
    record services re-read a record under lock before they write it."""
    hidden = hidden_fields(user, type(obj))
    if not hidden:
        return obj
    custom_keys = hidden_custom_keys(user, type(obj))
    if custom_keys and isinstance(getattr(obj, "custom", None), dict):
        obj.custom = {k: v for k, v in obj.custom.items() if k not in custom_keys}
    for name in hidden - {f"{CUSTOM_RULE_PREFIX}{key}" for key in custom_keys}:
        field = obj._meta.get_field(name)
        text = isinstance(field, (models.CharField, models.TextField)) and not field.null
        setattr(obj, field.attname, "" if text else None)
        if field.is_relation and field.is_cached(obj):
            field.delete_cached_value(obj)
    return obj
