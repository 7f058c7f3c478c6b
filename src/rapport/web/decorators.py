"""View decorators shared by the apps' pages."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from rapport.core.permissions import require_admin

View = Callable[..., HttpResponse]


def admin_required(view: View) -> View:
    """Sign-in for visitors, 403 for signed-in users who are not admins."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        require_admin(request.user)
        return view(request, *args, **kwargs)

    return wrapper
