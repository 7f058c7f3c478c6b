"""API for users, teams and roles: /me, /users, /roles, /teams.

Thin: parse with schemas, check who may read, call ``accounts.services`` for
every write. Users and roles are for admins; any signed-in user may read teams.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from rapport.accounts import services
from rapport.accounts.models import Role, Team, User
from rapport.core.api import (
    IF_MATCH,
    IF_NONE_MATCH,
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    objects_by_ids,
    paginate,
    problems,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.permissions import require_admin

router = Router(tags=["accounts"])


# Schemas


class TeamRef(Schema):
    id: int
    name: str


class UserOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    timezone: str
    language: str
    is_active: bool
    is_admin: bool
    role: str | None = Field(description="The role's slug.")
    teams: list[TeamRef]

    @staticmethod
    def resolve_role(user: User) -> str | None:
        return user.role.slug if user.role else None


class UserFilters(Schema):
    q: str | None = Field(None, description="Part of the email address or name.")
    role: str | None = Field(None, description="A role slug.")
    team: int | None = Field(None, description="A team id.")
    active: bool | None = None


class UserCreateIn(Schema):
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str | None = Field(None, description="A role slug.")
    teams: list[int] = Field(default_factory=list, description="Team ids.")
    password: str | None = Field(
        None, description="Without one, the user sets theirs through the invitation email."
    )
    timezone: str = "UTC"
    language: str = "en"


# In partial updates a field left out keeps its value. Fields that cannot be
# empty are typed without None (their None default is never validated), so an
# explicit null answers 422 instead of reaching the database.


class UserUpdateIn(Schema):
    email: str = Field(None)
    first_name: str = Field(None)
    last_name: str = Field(None)
    role: str | None = Field(None, description="A role slug; null removes the role.")
    teams: list[int] = Field(None, description="Team ids; replaces the user's teams.")
    is_active: bool = Field(None)
    timezone: str = Field(None)
    language: str = Field(None)


class ProfileUpdateIn(Schema):
    first_name: str = Field(None)
    last_name: str = Field(None)
    timezone: str = Field(None)
    language: str = Field(None)


class RoleOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    is_admin: bool
    is_system: bool
    requires_two_factor: bool
    permissions: dict[str, dict[str, str]] = Field(
        description="Scope (none, own, team, all) per object type and action; '*' is the default."
    )
    field_rules: dict[str, dict[str, str]] = Field(
        description="Per object type, fields the role may not see (hidden) or not change "
        "(read_only); custom fields as custom.<key>. Sensitive custom fields are hidden "
        "from roles other than admin roles unless named here (normal shows them)."
    )


class TeamOut(Schema):
    id: int
    name: str
    description: str
    manager: int | None = Field(alias="manager_id", description="The manager's user id.")
    members: list[int] = Field(description="User ids of the members.")
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_members(team: Team) -> list[int]:
        return [member.pk for member in team.members.all()]


class TeamCreateIn(Schema):
    name: str
    description: str = ""
    manager: int | None = Field(None, description="A user id.")
    members: list[int] = Field(default_factory=list, description="User ids.")


class TeamUpdateIn(Schema):
    name: str = Field(None)
    description: str = Field(None)
    manager: int | None = Field(None, description="A user id; null removes the manager.")
    members: list[int] = Field(None, description="User ids; replaces the members.")


# Lookups of the ids and slugs a request names


def _users() -> QuerySet[User]:
    return User.objects.select_related("role").prefetch_related("teams")


def _teams() -> QuerySet[Team]:
    return Team.objects.prefetch_related(Prefetch("members", User.objects.only("id")))


def _role_by_slug(slug: str | None) -> Role | None:
    if slug is None:
        return None
    role = Role.objects.filter(slug=slug).first()
    if role is None:
        raise ValidationError({"role": [_("Unknown role %(slug)s.") % {"slug": slug}]})
    return role


def _user_or_none(user_id: int | None, *, field: str) -> User | None:
    if user_id is None:
        return None
    return objects_by_ids(User.objects.all(), [user_id], field=field)[0]


# Me


@router.get("/me", response={200: UserOut, **problems()})
def me(request: HttpRequest) -> User:
    """The signed-in user (or the token's owner)."""
    return current_user(request)


@router.patch("/me", response={200: UserOut, **problems(403, 422)})
def me_update(request: HttpRequest, payload: ProfileUpdateIn) -> User:
    """Change your own name, time zone or language."""
    user = current_user(request)
    return services.profile_update(
        user, actor=actor(request), **payload.model_dump(exclude_unset=True)
    )


# Users


@router.get("/users", response={200: PageOut[UserOut], **problems(400, 403, 422)})
def user_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[UserFilters],
    page: Query[PageParams],
) -> dict:
    """Every user, by id (admins)."""
    require_admin(current_user(request))
    users = _users()
    if filters.q:
        users = users.filter(
            Q(email__icontains=filters.q)
            | Q(first_name__icontains=filters.q)
            | Q(last_name__icontains=filters.q)
        )
    if filters.role:
        users = users.filter(role__slug=filters.role)
    if filters.team is not None:
        users = users.filter(teams__id=filters.team)
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    return paginate(request, response, users, ordering=["id"], params=page)


@router.get("/users/{user_id}", response={200: UserOut, **problems(403, 404)})
def user_detail(request: HttpRequest, user_id: int) -> User:
    require_admin(current_user(request))
    return get_object_or_404(_users(), pk=user_id)


@router.post("/users", response={201: UserOut, **problems(403, 422)})
def user_create(request: HttpRequest, response: HttpResponse, payload: UserCreateIn) -> Status:
    """Add a user (admins). Without a password they cannot sign in until they set one."""
    require_admin(current_user(request))
    values = payload.model_dump()
    values["role"] = _role_by_slug(values["role"])
    values["teams"] = objects_by_ids(Team.objects.all(), values["teams"], field="teams")
    user = services.user_create(actor=actor(request), **values)
    return created(response, user, "api:user_detail", user_id=user.pk)


@router.patch("/users/{user_id}", response={200: UserOut, **problems(403, 404, 422)})
def user_update(request: HttpRequest, user_id: int, payload: UserUpdateIn) -> User:
    """Change a user's details, role, teams or active flag (admins)."""
    require_admin(current_user(request))
    user = get_object_or_404(User, pk=user_id)
    changes = payload.model_dump(exclude_unset=True)
    if "role" in changes:
        changes["role"] = _role_by_slug(changes["role"])
    teams = None
    if "teams" in changes:
        teams = objects_by_ids(Team.objects.all(), changes.pop("teams"), field="teams")
    services.user_update(user, actor=actor(request), teams=teams, **changes)
    return _users().get(pk=user.pk)


# Roles


@router.get("/roles", response={200: PageOut[RoleOut], **problems(400, 403, 422)})
def role_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """Every role, by name (admins)."""
    require_admin(current_user(request))
    return paginate(request, response, Role.objects.all(), ordering=["name", "id"], params=page)


@router.get("/roles/{role_id}", response={200: RoleOut, **problems(403, 404)})
def role_detail(request: HttpRequest, role_id: int) -> Role:
    require_admin(current_user(request))
    return get_object_or_404(Role, pk=role_id)


# Teams


@router.get("/teams", response={200: PageOut[TeamOut], **problems(400, 422)})
def team_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """Every team, by name."""
    return paginate(request, response, _teams(), ordering=["name", "id"], params=page)


@router.get(
    "/teams/{team_id}",
    response={200: TeamOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def team_detail(request: HttpRequest, response: HttpResponse, team_id: int) -> object:
    """One team, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    return conditional_read(request, response, get_object_or_404(_teams(), pk=team_id))


@router.post("/teams", response={201: TeamOut, **problems(403, 422)})
def team_create(request: HttpRequest, response: HttpResponse, payload: TeamCreateIn) -> Status:
    """Add a team (admins)."""
    require_admin(current_user(request))
    team = services.team_create(
        actor=actor(request),
        name=payload.name,
        description=payload.description,
        manager=_user_or_none(payload.manager, field="manager"),
        members=objects_by_ids(User.objects.all(), payload.members, field="members"),
    )
    team = _teams().get(pk=team.pk)
    return created(response, team, "api:team_detail", team_id=team.pk)


@router.patch(
    "/teams/{team_id}",
    response={200: TeamOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def team_update(
    request: HttpRequest, response: HttpResponse, team_id: int, payload: TeamUpdateIn
) -> Team:
    """Change a team (admins). With If-Match, only if it is still at that version."""
    require_admin(current_user(request))
    team = get_object_or_404(Team, pk=team_id)
    changes = payload.model_dump(exclude_unset=True)
    if "manager" in changes:
        changes["manager"] = _user_or_none(changes["manager"], field="manager")
    members = None
    if "members" in changes:
        members = objects_by_ids(User.objects.all(), changes.pop("members"), field="members")
    services.team_update(
        team,
        actor=actor(request),
        expected_version=expected_version(request),
        members=members,
        **changes,
    )
    team = _teams().get(pk=team.pk)
    set_etag(response, team)
    return team


@router.delete(
    "/teams/{team_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def team_delete(request: HttpRequest, team_id: int) -> Status:
    """Delete a team (admins); its members stay. With If-Match, only at that version."""
    require_admin(current_user(request))
    team = get_object_or_404(Team, pk=team_id)
    services.team_delete(team, actor=actor(request), expected_version=expected_version(request))
    return Status(204, None)
