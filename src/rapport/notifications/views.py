"""The notification centre: my notifications newest first, opening one, marking them
read, and my email settings. Thin: every change goes through ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.actors import Actor
from rapport.core.pagination import keyset_page
from rapport.notifications import services
from rapport.notifications.digest import DIGEST_LOCAL_TIME
from rapport.notifications.forms import PreferenceForm
from rapport.notifications.models import Notification

PAGE_SIZE = 25
ORDERING = ("-created_at", "-id")


def _mine(request: HttpRequest, pk: int) -> Notification:
    # Another user's notification does not exist for this one.
    return get_object_or_404(Notification, pk=pk, recipient=request.user)


@login_required
def centre(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    notifications = Notification.objects.filter(recipient=request.user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = keyset_page(
        notifications, ordering=ORDERING, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    return render(
        request,
        "notifications/centre.html",
        {"page": page, "notifications": page.items, "unread_only": unread_only},
    )


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark it read and go where it points; the centre if it points nowhere safe."""
    notification = services.notification_mark_read(
        _mine(request, pk), actor=Actor.for_request(request)
    )
    if notification.url and services.is_local_path(notification.url):
        return redirect(notification.url)
    return redirect("notifications:centre")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = services.notification_mark_read(
        _mine(request, pk), actor=Actor.for_request(request)
    )
    if request.htmx:
        return render(request, "notifications/_item.html", {"notification": notification})
    return redirect("notifications:centre")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=Actor.for_request(request))
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect("notifications:centre")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    current = services.preferences_for(request.user)
    form = PreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(
            request.user, actor=Actor.for_request(request), **form.cleaned_data
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    return render(
        request, "notifications/preferences.html", {"form": form, "digest_time": DIGEST_LOCAL_TIME}
    )
