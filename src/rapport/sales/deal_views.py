"""Deal pages: the kanban board of a pipeline (drag and drop, or the move form on each
card), a deal's 360 page, its forms, moves, won/lost, people and line items. Thin:
parse a form, call ``sales.deals`` or ``sales.deal_queries``, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.contacts.columns import plain
from rapport.contacts.listing import saved_view_query
from rapport.contacts.queries import InvalidFilters, visible_companies, visible_contacts
from rapport.core import savedviews
from rapport.core.actors import Actor
from rapport.core.customfields import definitions_for
from rapport.core.exceptions import VersionConflict
from rapport.core.forms import apply_field_rules, call_service
from rapport.core.permissions import can, can_create, mask_hidden_fields
from rapport.sales import deal_queries, deals
from rapport.sales.deal_forms import (
    DealForm,
    LineItemFormSet,
    LostForm,
    MoveForm,
    ParticipantForm,
    closing_stages,
)
from rapport.sales.models import Deal, Pipeline, StageKind
from rapport.sales.money import base_currency, decimal_places
from rapport.sales.pipelines import default_pipeline
from rapport.sales.pricing import totals

CONFLICT_MESSAGE = gettext_lazy(
    "Someone else changed this deal since you opened it. Reload the page to see their "
    "changes, then try again."
)


def _visible(request: HttpRequest, pk: int, action: str = "view") -> Deal:
    """The deal ``pk`` if the user may ``action`` it: 404 when they may not see it, 403
    when they may see it but not ``action`` it, as on every record's pages."""
    found = deal_queries.visible_deals(request.user).select_related(
        "pipeline", "stage", "company", "owner", "team", "currency", "lost_reason"
    )
    deal = get_object_or_404(found, pk=pk)
    if action != "view" and not can(request.user, action, deal):
        raise PermissionDenied
    return deal


def _back_to(request: HttpRequest, deal: Deal) -> str:
    """Where a move returns: the board it was made from, or the deal's page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return deal.get_absolute_url()


# The board


@login_required
def board_default(request: HttpRequest) -> HttpResponse:
    """The board of the default pipeline (the sidebar's Pipeline)."""
    pipeline = default_pipeline()
    if pipeline is None:
        raise Http404
    return board(request, pipeline.pk)


@login_required
def board(request: HttpRequest, pk: int) -> HttpResponse:
    """A pipeline's open stages as columns of cards, filtered as the deal list is."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    board_url = reverse("sales:board", args=[pipeline.pk])
    context: dict[str, Any] = {
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.filter(active=True),
        "saved_views": [
            {"view": view, "url": f"{board_url}?{saved_view_query(view)}"}
            for view in savedviews.visible(request.user, "sales.deal")
        ],
        "base": base_currency(),
        "base_places": decimal_places(base_currency()),
        "query": request.GET.urlencode(),
        "can_create": can_create(request.user, Deal),
        "filter_errors": [],
    }
    try:
        context["board"] = deal_queries.board(request.user, pipeline, request.GET)
    except InvalidFilters as invalid:
        context["filter_errors"] = invalid.messages
        context["filterset"] = invalid.filterset
    else:
        context["filterset"] = context["board"].filterset
        _add_move_forms(request, context["board"])
    return render(request, "sales/deals/board.html", context)


def _add_move_forms(request: HttpRequest, board: deal_queries.Board) -> None:
    stages = [column.stage for column in board.columns] + [board.won, board.lost]
    _mark_movable(request, [card for column in board.columns for card in column.cards], stages)


def _mark_movable(request: HttpRequest, cards: list[Deal], stages: list) -> None:
    """Which cards the user may move (one query for them all) and where to."""
    ids = [card.pk for card in cards]
    editable = set(
        deal_queries.visible_deals(request.user, "edit")
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
        if ids
        else ()
    )
    for card in cards:
        card.movable = card.pk in editable
        card.stage_choices = stages


@login_required
def board_column(request: HttpRequest, pk: int, stage_id: int) -> HttpResponse:
    """The next page of one column's cards (htmx "Show more")."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(pipeline.stages, pk=stage_id, kind=StageKind.OPEN)
    try:
        filterset, _ordering = deal_queries.deal_list(
            request.user, deal_queries.board_filters(request.GET)
        )
    except InvalidFilters:
        raise Http404 from None
    page = deal_queries.card_page(filterset.qs, stage, request.GET.get("cursor"))
    column = deal_queries.Column(stage=stage, page=page, cards=page.items)
    _mark_movable(request, column.cards, list(pipeline.stages.all()))
    return render(
        request,
        "sales/deals/_cards.html",
        {
            "column": column,
            "pipeline": pipeline,
            "query": deal_queries.board_filters(request.GET).urlencode(),
            "base_places": decimal_places(base_currency()),
        },
    )


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to the stage posted (drag and drop or the card's form). A lost stage
    without a reason leads to the lost form."""
    deal = _visible(request, pk, "edit")
    form = MoveForm(request.POST, deal=deal)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect(_back_to(request, deal))
    stage = form.cleaned_data["stage"]
    if stage.kind == StageKind.LOST and form.cleaned_data["lost_reason"] is None:
        return redirect(
            f"{reverse('sales:deal_lost', args=[deal.pk])}?next={_back_to(request, deal)}"
        )
    try:
        deals.deal_move(
            deal,
            actor=Actor.for_request(request),
            stage=stage,
            lost_reason=form.cleaned_data["lost_reason"],
            lost_note=form.cleaned_data["lost_note"],
            expected_version=form.cleaned_data.get("version"),
        )
    except VersionConflict:
        messages.error(request, CONFLICT_MESSAGE)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(deal)s moved to %(stage)s.") % {"deal": deal.name, "stage": stage.name}
        )
    return redirect(_back_to(request, deal))


# One deal


def _custom_rows(deal: Deal) -> list[dict[str, str]]:
    return [
        {"label": definition.label, "value": plain((deal.custom or {}).get(definition.key))}
        for definition in definitions_for(Deal)
    ]


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = mask_hidden_fields(request.user, _visible(request, pk))
    can_edit = can(request.user, "edit", deal)
    items = list(deal.line_items.select_related("product"))
    places = decimal_places(deal.currency_id)
    item_totals = totals(items, places)
    for item, total in zip(items, item_totals.lines, strict=True):
        item.total = total
    stages = list(deal.pipeline.stages.all())
    return render(
        request,
        "sales/deals/detail.html",
        {
            "record": deal,
            "deal": deal,
            "tab": "history" if request.GET.get("tab") == "history" else "overview",
            "places": places,
            "base": base_currency(),
            "open_stages": [stage for stage in stages if stage.kind == StageKind.OPEN],
            "closing": closing_stages(deal),
            "participants": deal.participants.select_related("contact"),
            "items": items,
            "item_totals": item_totals,
            "history": deal_queries.stage_history(deal),
            "custom_fields": _custom_rows(deal),
            "can_edit": can_edit,
            "can_delete": can(request.user, "delete", deal),
            "participant_form": ParticipantForm(contacts=visible_contacts(request.user))
            if can_edit
            else None,
        },
    )


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    if not can_create(request.user, Deal):
        raise PermissionDenied
    initial = {"currency": base_currency(), "pipeline": request.GET.get("pipeline")}
    if request.GET.get("company", "").isdigit():
        initial["company"] = request.GET["company"]
    form = apply_field_rules(
        DealForm(request.POST or None, initial=initial, companies=visible_companies(request.user)),
        request.user,
        Deal,
    )
    if not form.initial.get("pipeline") and default_pipeline():
        form.initial["pipeline"] = default_pipeline().pk
    if request.method == "POST" and form.is_valid():
        deal = call_service(
            form,
            lambda: deals.deal_create(
                actor=Actor.for_request(request), values=form.values(), custom=form.custom()
            ),
        )
        if deal is not None:
            messages.success(request, _("Deal created."))
            return redirect(deal)
    return render(request, "sales/deals/form.html", {"form": form, "deal": None})


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible(request, pk, "edit")
    form = apply_field_rules(
        DealForm(request.POST or None, deal=deal, companies=visible_companies(request.user)),
        request.user,
        Deal,
    )
    if request.method == "POST" and form.is_valid():
        saved = call_service(
            form,
            lambda: deals.deal_update(
                deal,
                actor=Actor.for_request(request),
                values=form.values(),
                custom=form.custom(),
                expected_version=form.cleaned_data.get("version"),
            ),
            conflict=CONFLICT_MESSAGE,
        )
        if saved is not None:
            messages.success(request, _("Deal saved."))
            return redirect(saved)
    return render(request, "sales/deals/form.html", {"form": form, "deal": deal})


@login_required
@require_POST
def deal_won(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible(request, pk, "edit")
    try:
        deals.deal_close(
            deal,
            actor=Actor.for_request(request),
            won=True,
            expected_version=_version(request),
        )
    except VersionConflict:
        messages.error(request, CONFLICT_MESSAGE)
    else:
        messages.success(request, _("Deal won."))
    return redirect(_back_to(request, deal))


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


@login_required
def deal_lost(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a deal lost, with the reason."""
    deal = _visible(request, pk, "edit")
    form = LostForm(request.POST or None, initial={"version": deal.version})
    if request.method == "POST" and form.is_valid():
        closed = call_service(
            form,
            lambda: deals.deal_close(
                deal,
                actor=Actor.for_request(request),
                won=False,
                lost_reason=form.cleaned_data["lost_reason"],
                lost_note=form.cleaned_data["lost_note"],
                expected_version=form.cleaned_data.get("version"),
            ),
            conflict=CONFLICT_MESSAGE,
        )
        if closed is not None:
            messages.success(request, _("Deal marked lost."))
            return redirect(_back_to(request, deal))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "sales/deals/lost.html", {"deal": deal, "form": form, "next": next_url})


@login_required
@require_POST
def deal_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a closed deal back in its pipeline's first open stage."""
    deal = _visible(request, pk, "edit")
    first = deal.pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    try:
        deals.deal_move(
            deal, actor=Actor.for_request(request), stage=first, expected_version=_version(request)
        )
    except VersionConflict:
        messages.error(request, CONFLICT_MESSAGE)
    else:
        messages.success(request, _("Deal reopened."))
    return redirect(deal)


@login_required
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible(request, pk)
    if not can(request.user, "delete", deal):
        raise PermissionDenied
    if request.method == "POST":
        deals.deal_delete(deal, actor=Actor.for_request(request))
        messages.success(request, _("The deal is in the trash."))
        return redirect("sales:board_default")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete %(name)s") % {"name": deal.name},
            "explanation": _(
                "The deal moves to the trash, with its people and line items; an admin or "
                "you can restore it from there."
            ),
            "cancel_url": deal.get_absolute_url(),
        },
    )


# People and line items


@login_required
@require_POST
def deal_add_participant(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible(request, pk, "edit")
    form = ParticipantForm(request.POST, contacts=visible_contacts(request.user))
    if form.is_valid():
        current = [
            deals.Participant(row.contact_id, row.role)
            for row in deal.participants.exclude(contact=form.cleaned_data["contact"])
        ]
        added = deals.Participant(form.cleaned_data["contact"], form.cleaned_data["role"])
        deals.deal_set_contacts(deal, actor=Actor.for_request(request), contacts=[*current, added])
        messages.success(request, _("Contact added to the deal."))
    else:
        messages.error(request, _("Choose a contact to add."))
    return redirect(deal)


@login_required
@require_POST
def deal_remove_participant(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    deal = _visible(request, pk, "edit")
    remaining = [
        deals.Participant(row.contact_id, row.role)
        for row in deal.participants.exclude(contact_id=contact_id)
    ]
    deals.deal_set_contacts(deal, actor=Actor.for_request(request), contacts=remaining)
    messages.success(request, _("Contact removed from the deal."))
    return redirect(deal)


def _show_item_errors(forms: list, error: ValidationError) -> list[str]:
    """The service's ``line_items.<n>.<field>`` errors on the fields of the n-th kept
    form; the errors that name no line, returned."""
    general = []
    for key, problems in error.message_dict.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(forms):
            form = forms[int(parts[1])]
            field = parts[2] if parts[2] in form.fields else None
            for problem in problems:
                form.add_error(field, problem)
        else:
            general.extend(problems)
    return general


@login_required
def deal_line_items(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the deal's line items; the deal's amount becomes their net total."""
    deal = _visible(request, pk, "edit")
    initial = [
        {
            "product": item.product_id,
            "name": item.name,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "discount_percent": item.discount_percent,
            "tax_rate": item.tax_rate,
        }
        for item in deal.line_items.all()
    ]
    formset = LineItemFormSet(request.POST or None, initial=initial, prefix="items")
    if request.method == "POST" and formset.is_valid():
        kept = [
            form for form in formset if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            deals.deal_set_line_items(
                deal,
                actor=Actor.for_request(request),
                items=[form.item() for form in kept],
                expected_version=_version(request),
            )
        except ValidationError as error:
            for problem in _show_item_errors(kept, error):
                messages.error(request, problem)
        except VersionConflict:
            messages.error(request, CONFLICT_MESSAGE)
        else:
            messages.success(request, _("Line items saved."))
            return redirect(deal)
    return render(request, "sales/deals/line_items.html", {"deal": deal, "formset": formset})
