"""The public page of a web form, ``/f/<key>/``: no sign-in, embeddable in an iframe on
any site, no inline script (so a strict Content-Security-Policy holds). Thin: parse the
POST, call ``sales.webforms.webform_submit``, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from csp.decorators import csp_replace
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.core.client_ip import client_ip
from rapport.core.throttle import Throttled
from rapport.sales import webforms
from rapport.sales.models import WebForm


def _page(
    request: HttpRequest,
    form: WebForm,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    thanked: bool = False,
    retry_after: int | None = None,
    status: int = 200,
) -> HttpResponse:
    values = values or {}
    errors = errors or {}
    fields = [
        {
            "field": field,
            "name": field.input_name,
            "value": values.get(field.input_name, ""),
            "errors": errors.get(field.input_name, []),
            "long": field.target in ("description",),
        }
        for field in form.fields.all()
    ]
    response = render(
        request,
        "sales/leads/webform_public.html",
        {
            "web_form": form,
            "fields": fields,
            "consent_errors": errors.get(webforms.CONSENT, []),
            "consent_checked": bool(values.get(webforms.CONSENT)),
            "general_errors": _unplaced(errors, {item["name"] for item in fields}),
            "honeypot": webforms.HONEYPOT,
            "consent_name": webforms.CONSENT,
            "thanked": thanked,
            "retry_after": retry_after,
        },
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    if form.redirect_url:
        # Browsers hold the redirect after the post to form-action too.
        target = urlsplit(form.redirect_url)
        response._csp_update = {"form-action": [f"{target.scheme}://{target.netloc}"]}  # type: ignore[attr-defined]
    return response


def _unplaced(errors: dict[str, list[str]], shown: set[str]) -> list[str]:
    """The messages no input of the page shows (the form's own, a lead custom field the
    form does not ask for), to show above it."""
    return [
        message
        for name, messages in errors.items()
        if name not in shown and name != webforms.CONSENT
        for message in messages
    ]


# Visitors post from the page without a session, often inside another site's iframe,
# where a CSRF cookie is not sent: the form is public by design, spam is held off by the
# rate limit and the honeypot.
@csrf_exempt
@xframe_options_exempt
# Embedded by customers' sites (the embed snippet is an iframe), so any page may frame
# it: no frame-ancestors at all, since "*" would still refuse pages of no origin (a
# saved file, a sandboxed iframe).
@csp_replace({"frame-ancestors": None})
@require_http_methods(["GET", "POST"])
def webform_public(request: HttpRequest, key: str) -> HttpResponse:
    form = webforms.active_form(key)
    if request.method == "GET":
        return _page(request, form)
    data = request.POST.dict()
    client = webforms.Client(
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        page_url=request.headers.get("Referer", ""),
    )
    try:
        webforms.webform_submit(form, data=data, client=client)
    except Throttled as throttled:
        return _page(request, form, values=data, retry_after=throttled.retry_after, status=429)
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        return _page(request, form, values=data, errors=errors, status=422)
    if form.redirect_url:
        return HttpResponseRedirect(form.redirect_url)
    return _page(request, form, thanked=True)
