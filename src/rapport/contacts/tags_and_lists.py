"""Pages of tags (admins manage them) and static lists of contacts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.contacts import queries, services
from rapport.contacts.forms import StaticListForm, TagForm
from rapport.contacts.models import Contact, StaticList, Tag
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can, can_create, get_visible_or_404
from rapport.web.decorators import admin_required

LISTS_PER_PAGE = 50
MEMBERS_PER_PAGE = 50
MEMBER_ORDERING = ["last_name", "first_name", "id"]


# Tags -----------------------------------------------------------------------------------


@admin_required
def tag_list(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/tag_list.html", {"tags": Tag.objects.all()})


@admin_required
def tag_create(request: HttpRequest) -> HttpResponse:
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tag = services.tag_create(actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The tag “%(name)s” is created.") % {"name": tag.name})
            return redirect("contacts:tag_list")
    return render(request, "contacts/tag_form.html", {"form": form, "tag": None})


@admin_required
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    initial = {"name": tag.name, "color": tag.color, "description": tag.description}
    form = TagForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tag_update(tag, actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The tag “%(name)s” is saved.") % {"name": tag.name})
            return redirect("contacts:tag_list")
    return render(request, "contacts/tag_form.html", {"form": form, "tag": tag})


@admin_required
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    if request.method == "POST":
        services.tag_delete(tag, actor=Actor.for_request(request))
        messages.success(request, _("The tag “%(name)s” is deleted.") % {"name": tag.name})
        return redirect("contacts:tag_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete the tag “%(name)s”?") % {"name": tag.name},
            "explanation": _(
                "Companies and contacts that carry it lose it. This cannot be undone."
            ),
            "cancel_url": reverse("contacts:tag_list"),
        },
    )


# Static lists ---------------------------------------------------------------------------


@login_required
def list_index(request: HttpRequest) -> HttpResponse:
    lists = (
        queries.visible_lists(request.user)
        .select_related("owner")
        .annotate(member_count=Count("memberships"))
    )
    page = keyset_page(
        lists, ordering=["name", "id"], cursor=request.GET.get("cursor"), limit=LISTS_PER_PAGE
    )
    return render(
        request,
        "contacts/list_index.html",
        {"page": page, "can_create": can_create(request.user, StaticList)},
    )


@login_required
def list_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, StaticList):
        raise PermissionDenied
    form = StaticListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            static_list = services.list_create(
                actor=Actor.for_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("The list “%(name)s” is created.") % {"name": static_list.name}
            )
            return redirect("contacts:list_detail", pk=static_list.pk)
    return render(request, "contacts/list_form.html", {"form": form, "static_list": None})


@login_required
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    static_list = get_visible_or_404(
        StaticList.objects.select_related("owner"), request.user, pk=pk
    )
    members = queries.visible_contacts(request.user).filter(memberships__static_list=static_list)
    page = keyset_page(
        members.select_related("company"),
        ordering=MEMBER_ORDERING,
        cursor=request.GET.get("cursor"),
        limit=MEMBERS_PER_PAGE,
    )
    return render(
        request,
        "contacts/list_detail.html",
        {
            "static_list": static_list,
            "page": page,
            "can_edit": can(request.user, "edit", static_list),
            "can_delete": can(request.user, "delete", static_list),
        },
    )


def _editable_list(request: HttpRequest, pk: int, action: str = "edit") -> StaticList:
    static_list = get_visible_or_404(StaticList.objects.all(), request.user, pk=pk)
    if not can(request.user, action, static_list):
        raise PermissionDenied
    return static_list


@login_required
def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    static_list = _editable_list(request, pk)
    initial = {"name": static_list.name, "description": static_list.description}
    form = StaticListForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.list_update(static_list, actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The list is saved."))
            return redirect("contacts:list_detail", pk=static_list.pk)
    return render(request, "contacts/list_form.html", {"form": form, "static_list": static_list})


@login_required
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    static_list = _editable_list(request, pk, "delete")
    if request.method == "POST":
        services.list_delete(static_list, actor=Actor.for_request(request))
        messages.success(request, _("The list “%(name)s” is deleted.") % {"name": static_list.name})
        return redirect("contacts:list_index")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete the list “%(name)s”?") % {"name": static_list.name},
            "explanation": _("Its contacts stay; only the list goes."),
            "cancel_url": reverse("contacts:list_detail", args=[static_list.pk]),
        },
    )


@login_required
@require_POST
def list_remove_member(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    static_list = _editable_list(request, pk)
    contact = get_visible_or_404(Contact.objects.all(), request.user, pk=contact_pk)
    services.list_remove(static_list, [contact], actor=Actor.for_request(request))
    messages.success(request, _("“%(contact)s” is off the list.") % {"contact": contact})
    return redirect("contacts:list_detail", pk=static_list.pk)
