"""Pages for signing in (password, then a two-factor code when the account has one),
password reset requests, two-factor set-up on one's profile, and logging out other
sessions. Thin: the rules are in ``accounts.signin`` and ``accounts.twofactor``.

Between the password and the code the visitor is not signed in: the session holds
only the pending user's id (``PENDING_KEY``), which nothing but the two-factor
pages reads, so every other page and the API see an anonymous visitor.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from rapport.accounts import signin, twofactor
from rapport.accounts.forms import (
    CurrentPasswordForm,
    LoginForm,
    SignInCodeForm,
    TwoFactorCodeForm,
    TwoFactorDisableForm,
)
from rapport.accounts.models import LoginOutcome, User
from rapport.core import throttle
from rapport.core.actors import Actor
from rapport.core.client_ip import client_ip
from rapport.core.forms import apply_service_errors
from rapport.core.models import Source
from rapport.web.decorators import admin_required

PENDING_KEY = "accounts:pending_sign_in"
# The code must follow the password within this many seconds.
PENDING_MAX_AGE = 600
NEW_CODES_KEY = "accounts:new_recovery_codes"
PASSWORD_RESET_WINDOW = datetime.timedelta(hours=1)


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def locked_response(
    request: HttpRequest, template: str, context: dict[str, Any], message: str, retry_after: int
) -> HttpResponse:
    """The page again, with ``message`` and status 429 Too Many Requests."""
    response = render(request, template, {**context, "locked_message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def sign_in_locked_message(retry_after: int) -> str:
    minutes = _minutes(retry_after)
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


# The password step -----------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Email and password. Refused with 429 while the account or the address is locked
    out; an account with two-factor sign-in (or whose role requires it) goes on to the
    code step instead of being signed in."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            signin.check_not_locked(
                email=request.POST.get("username", ""), client=signin.Client.of(request)
            )
        except signin.Locked as locked:
            return self.locked(locked.retry_after)
        return super().post(request, *args, **kwargs)

    def locked(self, retry_after: int) -> HttpResponse:
        form = self.authentication_form(
            self.request, initial={"username": self.request.POST.get("username", "")}
        )
        return locked_response(
            self.request,
            self.template_name,
            self.get_context_data(form=form),
            sign_in_locked_message(retry_after),
            retry_after,
        )

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            try:
                signin.login_failed(
                    email=self.request.POST.get("username", ""),
                    client=signin.Client.of(self.request),
                    actor=Actor.for_request(self.request),
                    outcome=LoginOutcome.BAD_PASSWORD,
                )
            except signin.Locked as locked:
                return self.locked(locked.retry_after)
        return super().form_invalid(form)

    def form_valid(self, form: LoginForm) -> HttpResponse:
        user = form.get_user()
        if twofactor.is_enabled(user):
            _begin_second_step(self.request, user, self.get_success_url())
            return redirect("accounts:login_code")
        if twofactor.is_required(user):
            _begin_second_step(self.request, user, self.get_success_url())
            return redirect("accounts:login_two_factor_setup")
        auth_login(self.request, user)
        signin.login_succeeded(
            user, client=signin.Client.of(self.request), actor=Actor.for_request(self.request)
        )
        return HttpResponseRedirect(self.get_success_url())


def _begin_second_step(request: HttpRequest, user: User, next_url: str) -> None:
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "next": next_url,
        "since": int(time.time()),
    }


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_MAX_AGE:
        return None
    return User.objects.select_related("role").filter(pk=pending["user"], is_active=True).first()


def _finish_sign_in(request: HttpRequest, user: User) -> str:
    """Sign the pending user in; where they were going."""
    pending = request.session.pop(PENDING_KEY)
    auth_login(request, user, backend=pending["backend"])
    signin.login_succeeded(
        user,
        client=signin.Client.of(request),
        actor=Actor.for_request(request),
        outcome=LoginOutcome.TWO_FACTOR_SUCCESS,
    )
    return pending["next"]


def _code_failed(request: HttpRequest, user: User) -> None:
    """Count a wrong code like a wrong password; ``Locked`` when it was the last allowed."""
    signin.login_failed(
        email=user.email,
        client=signin.Client.of(request),
        actor=Actor.for_request(request),
        outcome=LoginOutcome.BAD_CODE,
    )


# The code step ---------------------------------------------------------------------------


def login_code(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None or not twofactor.is_enabled(user):
        return redirect("accounts:login")
    form = SignInCodeForm(request.POST if request.method == "POST" else None)
    template, context = "accounts/login_code.html", {"form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, template, context)
    try:
        signin.check_not_locked(email=user.email, client=signin.Client.of(request))
        method = twofactor.verify(user, form.cleaned_data["code"])
        if method is None:
            form.add_error("code", _("This code is wrong or was already used."))
            _code_failed(request, user)
            return render(request, template, context)
    except signin.Locked as locked:
        message = sign_in_locked_message(locked.retry_after)
        return locked_response(request, template, context, message, locked.retry_after)
    next_url = _finish_sign_in(request, user)
    if method == "recovery_code":
        left = twofactor.recovery_codes_left(user)
        messages.warning(
            request,
            ngettext(
                "You signed in with a recovery code; %(count)d is left. "
                "Make new ones on your two-factor page.",
                "You signed in with a recovery code; %(count)d are left. "
                "Make new ones on your two-factor page.",
                left,
            )
            % {"count": left},
        )
    return HttpResponseRedirect(next_url)


def login_two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set-up for a user whose role requires two-factor sign-in and who has none yet:
    they are signed in only once it works."""
    user = _pending_user(request)
    if user is None or twofactor.is_enabled(user) or not twofactor.is_required(user):
        return redirect("accounts:login")
    actor = Actor(user=user, source=Source.UI, request_id=getattr(request, "request_id", ""))
    device = twofactor.pending_device(user) or twofactor.enrol_start(user, actor=actor)
    form = TwoFactorCodeForm(request.POST if request.method == "POST" else None)
    template = "accounts/login_two_factor_setup.html"
    context = {"form": form, **_enrolment_context(device)}
    if request.method != "POST" or not form.is_valid():
        return render(request, template, context)
    try:
        signin.check_not_locked(email=user.email, client=signin.Client.of(request))
        try:
            codes = twofactor.enrol_confirm(user, actor=actor, code=form.cleaned_data["code"])
        except ValidationError as error:
            apply_service_errors(form, error)
            _code_failed(request, user)
            return render(request, template, context)
    except signin.Locked as locked:
        message = sign_in_locked_message(locked.retry_after)
        return locked_response(request, template, context, message, locked.retry_after)
    _finish_sign_in(request, user)
    request.session[NEW_CODES_KEY] = codes
    return redirect("accounts:two_factor")


# Password reset requests -----------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, limited per client address: each request may send an email."""

    template_name = "accounts/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    email_template_name = "accounts/email/password_reset.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = throttle.counter_key("password-reset", client_ip(request))
        try:
            throttle.throttle(
                key, limit=settings.PASSWORD_RESET_MAX_PER_IP, window=PASSWORD_RESET_WINDOW
            )
        except throttle.Throttled as throttled:
            minutes = _minutes(throttled.retry_after)
            message = ngettext(
                "Too many password reset requests. Try again in %(minutes)d minute.",
                "Too many password reset requests. Try again in %(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
            return locked_response(
                request, self.template_name, self.get_context_data(), message, throttled.retry_after
            )
        return super().post(request, *args, **kwargs)


# Two-factor on one's profile ---------------------------------------------------------------


def _enrolment_context(device: Any) -> dict[str, Any]:
    # segno writes the SVG from the URI alone: no user text reaches it unescaped
    # but the email, which segno encodes as QR modules, not markup.
    return {"qr_code": mark_safe(twofactor.qr_code_svg(device)), "secret": device.secret}


def render_two_factor(
    request: HttpRequest,
    *,
    confirm_form: TwoFactorCodeForm | None = None,
    codes_form: CurrentPasswordForm | None = None,
    disable_form: TwoFactorDisableForm | None = None,
) -> HttpResponse:
    user = request.user
    device = twofactor.active_device(user)
    pending = None if device else twofactor.pending_device(user)
    context: dict[str, Any] = {
        "device": device,
        "pending": pending,
        "required": twofactor.is_required(user),
        "codes_left": twofactor.recovery_codes_left(user) if device else 0,
        "new_codes": request.session.pop(NEW_CODES_KEY, None),
        "confirm_form": confirm_form or TwoFactorCodeForm(),
        "codes_form": codes_form or CurrentPasswordForm(prefix="codes"),
        "disable_form": disable_form or TwoFactorDisableForm(prefix="disable"),
    }
    if pending:
        context |= _enrolment_context(pending)
    return render(request, "accounts/two_factor.html", context)


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    return render_two_factor(request)


@login_required
@require_POST
def two_factor_start(request: HttpRequest) -> HttpResponse:
    try:
        twofactor.enrol_start(request.user, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("accounts:two_factor")


@login_required
@require_POST
def two_factor_confirm(request: HttpRequest) -> HttpResponse:
    form = TwoFactorCodeForm(request.POST)
    if form.is_valid():
        try:
            codes = twofactor.enrol_confirm(
                request.user, actor=Actor.for_request(request), code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            request.session[NEW_CODES_KEY] = codes
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("accounts:two_factor")
    return render_two_factor(request, confirm_form=form)


@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    form = CurrentPasswordForm(request.POST, prefix="codes")
    if form.is_valid():
        try:
            codes = twofactor.regenerate_recovery_codes(
                request.user, actor=Actor.for_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            request.session[NEW_CODES_KEY] = codes
            return redirect("accounts:two_factor")
    return render_two_factor(request, codes_form=form)


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = TwoFactorDisableForm(request.POST, prefix="disable")
    if form.is_valid():
        try:
            twofactor.disable(request.user, actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("accounts:two_factor")
    return render_two_factor(request, disable_form=form)


@login_required
@require_POST
def logout_other_sessions(request: HttpRequest) -> HttpResponse:
    signin.logout_other_sessions(request.user, actor=Actor.for_request(request))
    # This session stays: it is re-signed with the new hash.
    update_session_auth_hash(request, request.user)
    messages.success(request, _("Your other sessions are logged out."))
    return redirect(reverse("accounts:profile") + "#sessions")


@admin_required
@require_POST
def user_two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    twofactor.reset(user, actor=Actor.for_request(request))
    messages.success(request, _("Two-factor sign-in of %(user)s is reset.") % {"user": user})
    return redirect("accounts:user_edit", pk=user.pk)
