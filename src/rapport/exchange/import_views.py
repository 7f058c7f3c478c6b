"""The import wizard: upload, map, preview, dry run, run with progress, result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors, call_service
from rapport.exchange import import_rollback, imports
from rapport.exchange.import_forms import MappingForm, SaveMappingForm, UploadForm, allowed_types
from rapport.exchange.import_types import import_type
from rapport.exchange.models import ImportRun, ImportStatus


def _run_of(request: HttpRequest, pk: int) -> ImportRun:
    run = get_object_or_404(
        imports.visible_runs(request.user).select_related("job", "dry_run_job"), pk=pk
    )
    return imports.notice_interruption(run)


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    allowed = allowed_types(request.user)
    if not allowed:
        raise PermissionDenied
    form = UploadForm(request.POST or None, request.FILES or None, allowed=allowed)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        run = call_service(
            form,
            lambda: imports.import_upload(
                actor=Actor.for_request(request),
                object_type=form.cleaned_data["object_type"],
                upload=upload,
                file_name=upload.name,
            ),
        )
        if run is not None:
            return redirect("exchange:import_detail", run.pk)
    runs = imports.visible_runs(request.user)[:50]
    mappings = imports.visible_mappings(request.user).select_related("owner")
    return render(
        request,
        "exchange/import_list.html",
        {"form": form, "runs": runs, "mappings": mappings},
    )


@login_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(imports.visible_mappings(request.user), pk=pk)
    imports.mapping_delete(template, actor=Actor.for_request(request))
    messages.success(request, _("Mapping deleted."))
    return redirect("exchange:import_list")


def _mapping_step(request: HttpRequest, run: ImportRun) -> tuple[MappingForm, str]:
    """The mapping form, bound and applied when posted; and what the user asked for."""
    kind = import_type(run.object_type)
    actor = Actor.for_request(request)
    if request.method != "POST":
        return MappingForm(run=run, kind=kind), ""
    form = MappingForm(request.POST, run=run, kind=kind)
    action = request.POST.get("action", "preview")
    if not form.is_valid():
        return form, ""
    configured = call_service(
        form,
        lambda: imports.import_configure(
            run,
            actor=actor,
            mapping=form.mapping(),
            options=form.options(),
            encoding=form.cleaned_data.get("encoding", ""),
            delimiter=form.cleaned_data.get("delimiter", ""),
        ),
    )
    return form, action if configured is not None else ""


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_of(request, pk)
    context: dict = {"run": run, "kind": import_type(run.object_type)}
    if run.status == ImportStatus.MAPPING:
        form, action = _mapping_step(request, run)
        if action in ("dry_run", "start"):
            started = call_service(
                form,
                lambda: imports.import_start(
                    run, actor=Actor.for_request(request), dry_run=action == "dry_run"
                ),
            )
            if started is not None:
                return redirect("exchange:import_detail", run.pk)
        if action == "save":
            _save_mapping(request, run)
        if action:
            form = MappingForm(run=run, kind=context["kind"])
        context |= {
            "form": form,
            "save_form": SaveMappingForm(),
            "preview": _preview(run, request),
        }
    return render(request, "exchange/import_detail.html", context)


def _preview(run: ImportRun, request: HttpRequest) -> list[imports.PreviewRow]:
    if not run.mapping:
        return []
    try:
        return imports.import_preview(run, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return []


def _save_mapping(request: HttpRequest, run: ImportRun) -> None:
    form = SaveMappingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Name the mapping to save it."))
        return
    try:
        imports.mapping_save(
            run,
            actor=Actor.for_request(request),
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Mapping saved; files with these columns will use it."))


@login_required
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The fragment the run page polls while a run or a dry run works."""
    run = _run_of(request, pk)
    return render(request, "exchange/_import_status.html", {"run": run})


ACTIONS = {
    "resume": imports.import_resume,
    "cancel": imports.import_cancel,
    "rollback": import_rollback.import_rollback_start,
}


@login_required
@require_POST
def import_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    run = _run_of(request, pk)
    service = ACTIONS.get(action)
    if service is None:
        raise Http404
    try:
        started = service(run, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if action == "rollback":
            # The run's page does not follow a rollback: its job's page shows the progress
            # and the records it left as they were.
            return redirect("core:job_detail", pk=started.pk)
    return redirect("exchange:import_detail", run.pk)


@login_required
def import_failures(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    run = _run_of(request, pk)
    dry_run = request.GET.get("dry_run") == "1"
    rows = imports.failures_csv(run, actor=Actor.for_request(request), dry_run=dry_run)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    stem = run.file_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-failed-rows.csv")
    return response
