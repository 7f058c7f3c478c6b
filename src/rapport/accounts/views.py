"""Pages for signing in, one's own profile and API tokens, and the admin's
users, teams and roles. Thin: parse a form, call ``accounts.services``, render."""

from __future__ import annotations

import smtplib

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.accounts import services, signin, tokens, twofactor
from rapport.accounts.forms import (
    ConfirmForm,
    FieldRulesForm,
    PermissionMatrixForm,
    ProfileForm,
    RoleForm,
    TeamEditForm,
    TeamForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    VersionedConfirmForm,
)
from rapport.accounts.models import ApiToken, Role, Team, User
from rapport.core.actors import Actor
from rapport.core.exceptions import VersionConflict
from rapport.core.forms import apply_service_errors
from rapport.web.decorators import admin_required

USERS_PER_PAGE = 50
# Past this many pages the filters are the way to find someone; it also keeps offsets sane.
MAX_USER_PAGES = 200
# The raw secret of a token just created, kept for the one page view that shows it.
NEW_TOKEN_SESSION_KEY = "accounts:new_token"
MAIL_ERRORS = (smtplib.SMTPException, OSError)


def posted(request: HttpRequest) -> QueryDict | None:
    """The data to bind a form to: even an empty POST binds, so it is validated."""
    return request.POST if request.method == "POST" else None


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


# Signing in and passwords -------------------------------------------------------------


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = gettext_lazy("Your password is changed.")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# Profile and API tokens ---------------------------------------------------------------


def render_profile(
    request: HttpRequest,
    *,
    form: ProfileForm | None = None,
    token_form: TokenForm | None = None,
) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form
            or ProfileForm(initial=model_to_dict(user, fields=services.PROFILE_FIELDS)),
            "token_form": token_form or TokenForm(),
            "tokens": ApiToken.objects.filter(user=user),
            "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
            "two_factor_on": twofactor.is_enabled(user),
            "login_events": signin.login_history(user),
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_profile(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.profile_update(
                request.user, actor=Actor.for_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            # Confirm in the language just chosen, as the next page will be.
            translation.activate(request.user.language)
            messages.success(request, _("Your profile is saved."))
            return redirect("accounts:profile")
    return render_profile(request, form=form)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return render_profile(request, token_form=form)
    token, secret = tokens.token_create(
        actor=Actor.for_request(request),
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        expires_at=form.expires_at(),
    )
    request.session[NEW_TOKEN_SESSION_KEY] = {"name": token.name, "secret": secret}
    return redirect(reverse("accounts:profile") + "#tokens")


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.token_revoke(token, actor=Actor.for_request(request))
    messages.success(request, _("The token “%(name)s” no longer works.") % {"name": token.name})
    return redirect(reverse("accounts:profile") + "#tokens")


# Users --------------------------------------------------------------------------------


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    filters = UserFilterForm(request.GET)
    users = filters.filter(User.objects.select_related("role").prefetch_related("teams"))
    try:
        page = min(max(int(request.GET.get("page", 1)), 1), MAX_USER_PAGES)
    except ValueError:
        page = 1
    start = (page - 1) * USERS_PER_PAGE
    # One row past the page tells whether a next page exists, without a COUNT.
    rows = list(
        users.order_by("first_name", "last_name", "email", "pk")[start : start + USERS_PER_PAGE + 1]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {
            "filters": filters,
            "users": rows[:USERS_PER_PAGE],
            "page": page,
            "has_next": len(rows) > USERS_PER_PAGE,
            "query": query.urlencode(),
        },
    )


def invite(request: HttpRequest, user: User) -> None:
    """Send the invitation and say how it went; a mail failure is a message, not a 500."""
    try:
        services.send_invitation(user, actor=Actor.for_request(request), base_url=base_url(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except MAIL_ERRORS:
        messages.warning(
            request,
            _(
                "The invitation to %(email)s could not be sent. "
                "Check the email settings and try again."
            )
            % {"email": user.email},
        )
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})


@admin_required
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        send_invitation = values.pop("send_invitation")
        try:
            user = services.user_create(actor=Actor.for_request(request), **values)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("%(user)s is added.") % {"user": user})
            if send_invitation:
                invite(request, user)
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form})


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        initial = model_to_dict(user, fields=services.USER_FIELDS)
        initial["teams"] = list(user.teams.all())
        form = UserEditForm(initial=initial)
    else:
        form = UserEditForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            try:
                services.user_update(
                    user, actor=Actor.for_request(request), teams=values.pop("teams"), **values
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("%(user)s is saved.") % {"user": user})
                return redirect("accounts:user_list")
    return render(
        request,
        "accounts/user_form.html",
        {
            "form": form,
            "person": user,
            "two_factor_on": twofactor.is_enabled(user),
            "login_events": signin.login_history(user),
        },
    )


@admin_required
@require_POST
def user_invite(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    invite(request, user)
    return redirect("accounts:user_edit", pk=user.pk)


# Teams --------------------------------------------------------------------------------


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.select_related("manager").annotate(member_count=Count("members"))
    return render(request, "accounts/team_list.html", {"teams": teams})


@admin_required
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The team %(team)s is created.") % {"team": team})
            return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {"form": form})


CONFLICT_MESSAGE = gettext_lazy(
    "Someone else changed this team while you were editing it, so nothing was saved. "
    "Reload the page to see their changes, then make yours again."
)


@admin_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    if request.method != "POST":
        initial = model_to_dict(team, fields=services.TEAM_FIELDS)
        initial |= {"members": list(team.members.all()), "version": team.version}
        form = TeamEditForm(initial=initial)
    else:
        form = TeamEditForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            try:
                team = services.team_update(
                    team,
                    actor=Actor.for_request(request),
                    expected_version=values.pop("version"),
                    members=values.pop("members"),
                    **values,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            except VersionConflict:
                form.add_error(None, CONFLICT_MESSAGE)
            else:
                messages.success(request, _("The team %(team)s is saved.") % {"team": team})
                return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {"form": form, "team": team})


@admin_required
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    form = VersionedConfirmForm(posted(request), initial={"version": team.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.team_delete(
                team,
                actor=Actor.for_request(request),
                expected_version=form.cleaned_data["version"],
            )
        except VersionConflict:
            form.add_error(None, CONFLICT_MESSAGE)
        else:
            messages.success(request, _("The team %(team)s is deleted.") % {"team": team})
            return redirect("accounts:team_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "form": form,
            "object": team,
            "title": _("Delete the team %(team)s?") % {"team": team},
            "explanation": _(
                "Its members stay; records that belonged to the team keep their owner."
            ),
            "cancel_url": reverse("accounts:team_edit", args=[team.pk]),
        },
    )


# Roles --------------------------------------------------------------------------------


@admin_required
def role_list(request: HttpRequest) -> HttpResponse:
    roles = Role.objects.annotate(user_count=Count("users"))
    return render(request, "accounts/role_list.html", {"roles": roles})


def render_role_form(
    request: HttpRequest,
    form: RoleForm,
    matrix: PermissionMatrixForm,
    field_rules: FieldRulesForm,
    role: Role | None = None,
) -> HttpResponse:
    context = {"form": form, "matrix": matrix, "field_rules": field_rules, "role": role}
    return render(request, "accounts/role_form.html", context)


@admin_required
def role_create(request: HttpRequest) -> HttpResponse:
    form = RoleForm(posted(request))
    matrix = PermissionMatrixForm(posted(request), permissions={})
    field_rules = FieldRulesForm(posted(request), role=None)
    valid = form.is_valid() and matrix.is_valid() and field_rules.is_valid()
    if request.method == "POST" and valid:
        try:
            role = services.role_create(
                actor=Actor.for_request(request),
                permissions=matrix.grants(),
                field_rules=field_rules.rules(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The role %(role)s is created.") % {"role": role})
            return redirect("accounts:role_list")
    return render_role_form(request, form, matrix, field_rules)


@admin_required
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    initial = model_to_dict(role, fields=services.ROLE_FIELDS)
    form = RoleForm(posted(request), role=role, initial=initial)
    matrix = PermissionMatrixForm(posted(request), permissions=role.permissions)
    field_rules = FieldRulesForm(posted(request), role=role)
    valid = form.is_valid() and matrix.is_valid() and field_rules.is_valid()
    if request.method == "POST" and valid:
        try:
            role = services.role_update(
                role,
                actor=Actor.for_request(request),
                permissions=matrix.grants(),
                field_rules=field_rules.rules(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The role %(role)s is saved.") % {"role": role})
            return redirect("accounts:role_list")
    return render_role_form(request, form, matrix, field_rules, role)


@admin_required
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.role_delete(role, actor=Actor.for_request(request))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The role %(role)s is deleted.") % {"role": role})
            return redirect("accounts:role_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "form": form,
            "object": role,
            "title": _("Delete the role %(role)s?") % {"role": role},
            "explanation": _("Only a role that nobody holds can be deleted."),
            "cancel_url": reverse("accounts:role_edit", args=[role.pk]),
        },
    )
