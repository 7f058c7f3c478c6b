"""API for companies, contacts, lists, tags and custom field definitions.

Thin: lists go through ``contacts.queries`` (the FilterSets the list pages
use, so the same query string selects the same records), writes through
``contacts.services`` and ``core.customfields``. A record the caller may not
see answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from rapport.accounts.models import User
from rapport.contacts import queries, services
from rapport.contacts.filtersets import (
    CUSTOM_PREFIX,
    SORT_PARAM,
    CompanyFilterSet,
    ContactFilterSet,
    RecordFilterSet,
)
from rapport.contacts.models import Company, Contact, ContactSource, StaticList, Tag
from rapport.contacts.schemas import (
    MAX_BULK_ITEMS,
    BulkOut,
    CompanyBulkIn,
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactBulkIn,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomFieldFilters,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    ListIn,
    ListOut,
    ListPatch,
    MembersAdded,
    MembersIn,
    MembersRemoved,
    TagIn,
    TagOut,
    TagPatch,
)
from rapport.core import customfields
from rapport.core.actors import Actor
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
    trashed,
)
from rapport.core.etag import conditional_read, expected_version, set_etag
from rapport.core.exceptions import VersionConflict
from rapport.core.models import CustomFieldDefinition
from rapport.core.permissions import get_visible_or_404
from rapport.core.registry import record_models
from rapport.core.timeline_api import add_timeline_endpoint

router = Router(tags=["contacts"])

CHILD_LISTS = ("emails", "phones", "addresses", "social_profiles")
EXPANSIONS = frozenset({"company"})


# The shared filters, documented from the FilterSets themselves


def _query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "description": description,
        "schema": schema,
    }


def filter_parameters(filterset: type[RecordFilterSet]) -> dict[str, Any]:
    """OpenAPI parameters for every filter of ``filterset``, its sort and custom fields."""
    many = {"type": "array", "items": {"type": "string"}}
    parameters = []
    for name, declared in filterset.base_filters.items():
        label = str(declared.label or name)
        if isinstance(declared, django_filters.DateFromToRangeFilter):
            parameters += [
                _query_parameter(
                    f"{name}_after",
                    f"{label}: on or after (YYYY-MM-DD).",
                    {"type": "string", "format": "date"},
                ),
                _query_parameter(
                    f"{name}_before",
                    f"{label}: on or before (YYYY-MM-DD).",
                    {"type": "string", "format": "date"},
                ),
            ]
        elif isinstance(declared, django_filters.RangeFilter):
            parameters += [
                _query_parameter(f"{name}_min", f"{label}: at least.", {"type": "number"}),
                _query_parameter(f"{name}_max", f"{label}: at most.", {"type": "number"}),
            ]
        elif isinstance(declared, django_filters.BooleanFilter):
            parameters.append(_query_parameter(name, label, {"type": "boolean"}))
        elif isinstance(
            declared, django_filters.MultipleChoiceFilter | django_filters.ModelMultipleChoiceFilter
        ):
            parameters.append(
                _query_parameter(name, f"{label}: any of (repeat the parameter).", many)
            )
        else:
            parameters.append(_query_parameter(name, label, {"type": "string"}))
    parameters.append(
        _query_parameter(
            SORT_PARAM,
            _("Sort order; - in front for descending."),
            {"type": "string", "enum": list(filterset.sorts), "default": filterset.default_sort},
        )
    )
    parameters.append(
        _query_parameter(
            f"{CUSTOM_PREFIX}{{key}}",
            _("A custom field's value, e.g. custom__tier=gold (see GET /custom-fields)."),
            {"type": "string"},
        )
    )
    return {"parameters": parameters}


# Turning bodies into service arguments


def _service_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """``values``, ``custom``, ``tags`` and the child lists of a create or update body."""
    arguments: dict[str, Any] = {name: data.pop(name) for name in CHILD_LISTS if name in data}
    if "custom" in data:
        arguments["custom"] = data.pop("custom")
    if "tags" in data:
        arguments["tags"] = objects_by_ids(Tag.objects.all(), data.pop("tags"), field="tags")
    arguments["values"] = data
    return arguments


def _field_errors(error: ValidationError) -> list[dict[str, str | None]]:
    if not hasattr(error, "error_dict"):
        return [{"field": None, "message": message} for message in error.messages]
    return [
        {"field": None if name == NON_FIELD_ERRORS else name, "message": message}
        for name, messages in error.message_dict.items()
        for message in messages
    ]


def _attempt(action: str, index: int, status: int, write: Callable[[], models.Model]) -> dict:
    """One bulk item's result: written in its own savepoint, or refused with its problem."""
    outcome: dict[str, Any] = {"action": action, "index": index}
    try:
        with transaction.atomic():
            obj = write()
    except ValidationError as error:
        return outcome | {"status": 422, "errors": _field_errors(error)}
    except PermissionDenied:
        return outcome | {"status": 403}
    except Http404:
        return outcome | {"status": 404}
    except VersionConflict:
        return outcome | {"status": 412}
    return outcome | {"status": status, "id": obj.pk}


def _bulk(
    creates: list[Schema],
    updates: list[Schema],
    *,
    create: Callable[[dict[str, Any]], models.Model],
    update: Callable[[int, int | None, dict[str, Any]], models.Model],
) -> dict[str, Any]:
    """Write every item; one refused item leaves the others written."""
    if len(creates) + len(updates) > MAX_BULK_ITEMS:
        raise ValidationError(
            _("Send at most %(count)d items in one call.") % {"count": MAX_BULK_ITEMS}
        )
    if not creates and not updates:
        raise ValidationError(_("Send items to create or to update."))
    results = []
    # One transaction for the call (one commit), a savepoint per item.
    with transaction.atomic():
        for index, item in enumerate(creates):
            data = item.model_dump(exclude_unset=True)
            results.append(_attempt("create", index, 201, partial(create, data)))
        for index, item in enumerate(updates):
            data = item.model_dump(exclude_unset=True, exclude={"id", "version"})
            write = partial(update, item.id, item.version, data)
            results.append(_attempt("update", index, 200, write))
    failed = sum(1 for outcome in results if outcome["status"] >= 400)
    return {"succeeded": len(results) - failed, "failed": failed, "results": results}


class Expand(Schema):
    expand: str | None = Field(None, description="company: embed the contact's company.")


def _expansions(params: Expand) -> set[str]:
    wanted = {part.strip() for part in (params.expand or "").split(",") if part.strip()}
    unknown = wanted - EXPANSIONS
    if unknown:
        raise ValidationError({"expand": [_("Expand one of: company.")]})
    return wanted


def _expand_companies(contacts: Iterable[Contact], user: User) -> None:
    """Embed each contact's company, where the user may see it (else only its id shows)."""
    contacts = list(contacts)
    ids = {contact.company_id for contact in contacts if contact.company_id}
    visible = set(queries.visible_companies(user).filter(pk__in=ids).values_list("pk", flat=True))
    for contact in contacts:
        if contact.company_id in visible:
            contact.expanded_company = contact.company


# Companies


def _companies(queryset: models.QuerySet[Company] | None = None) -> models.QuerySet[Company]:
    queryset = Company.objects.all() if queryset is None else queryset
    return queryset.prefetch_related("tags", "phones", "addresses", "social_profiles")


def _visible_company(request: HttpRequest, company_id: int) -> Company:
    return get_visible_or_404(_companies(), current_user(request), pk=company_id)


@router.get(
    "/companies",
    response={200: PageOut[CompanyOut], **problems(400, 422)},
    openapi_extra=filter_parameters(CompanyFilterSet),
)
def company_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """The companies you may see, filtered and sorted as the list page does."""
    filterset, ordering = queries.company_list(current_user(request), request.GET)
    return paginate(request, response, _companies(filterset.qs), ordering=ordering, params=page)


@router.get(
    "/companies/{int:company_id}",
    response={200: CompanyOut, 304: None, **problems(404)},
    openapi_extra=IF_NONE_MATCH,
)
def company_detail(request: HttpRequest, response: HttpResponse, company_id: int) -> object:
    """One company, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    return conditional_read(request, response, _visible_company(request, company_id))


add_timeline_endpoint(router, Company, "companies")


@router.post("/companies", response={201: CompanyOut, **problems(403, 422)})
def company_create(request: HttpRequest, response: HttpResponse, payload: CompanyIn) -> Status:
    company = services.company_create(
        actor=actor(request), **_service_arguments(payload.model_dump(exclude_unset=True))
    )
    company = _companies().get(pk=company.pk)
    return created(response, company, "api:company_detail", company_id=company.pk)


@router.patch(
    "/companies/{int:company_id}",
    response={200: CompanyOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def company_update(
    request: HttpRequest, response: HttpResponse, company_id: int, payload: CompanyPatch
) -> Company:
    """Change a company; lists given replace the company's. Honours If-Match."""
    company = services.company_update(
        _visible_company(request, company_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_service_arguments(payload.model_dump(exclude_unset=True)),
    )
    company = _companies().get(pk=company.pk)
    set_etag(response, company)
    return company


@router.delete(
    "/companies/{int:company_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def company_delete(request: HttpRequest, company_id: int) -> Status:
    """Move a company to the trash. Honours If-Match."""
    return trashed(request, services.company_delete, _visible_company(request, company_id))


@router.post("/companies/bulk", response={200: BulkOut, **problems(422)})
def company_bulk(request: HttpRequest, payload: CompanyBulkIn) -> dict:
    """Create and update up to 1,000 companies; each item answers with its own status."""
    write_as = actor(request)

    def create(data: dict[str, Any]) -> Company:
        return services.company_create(actor=write_as, **_service_arguments(data))

    def update(company_id: int, version: int | None, data: dict[str, Any]) -> Company:
        return services.company_update(
            _visible_company(request, company_id),
            actor=write_as,
            expected_version=version,
            **_service_arguments(data),
        )

    return _bulk(payload.create, payload.update, create=create, update=update)


# Contacts


def _contacts(
    queryset: models.QuerySet[Contact] | None = None, *, expand: set[str] = frozenset()
) -> models.QuerySet[Contact]:
    queryset = Contact.objects.all() if queryset is None else queryset
    queryset = queryset.prefetch_related("tags", "emails", "phones", "addresses", "social_profiles")
    if "company" in expand:
        queryset = queryset.select_related("company")
    return queryset


def _visible_contact(
    request: HttpRequest, contact_id: int, *, expand: set[str] = frozenset()
) -> Contact:
    return get_visible_or_404(_contacts(expand=expand), current_user(request), pk=contact_id)


@router.get(
    "/contacts",
    response={200: PageOut[ContactOut], **problems(400, 422)},
    openapi_extra=filter_parameters(ContactFilterSet),
)
def contact_list(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams], expand: Query[Expand]
) -> dict:
    """The contacts you may see, filtered and sorted as the list page does."""
    wanted = _expansions(expand)
    user = current_user(request)
    filterset, ordering = queries.contact_list(user, request.GET)
    result = paginate(
        request, response, _contacts(filterset.qs, expand=wanted), ordering=ordering, params=page
    )
    if "company" in wanted:
        _expand_companies(result["items"], user)
    return result


@router.get(
    "/contacts/{int:contact_id}",
    response={200: ContactOut, 304: None, **problems(404, 422)},
    openapi_extra=IF_NONE_MATCH,
)
def contact_detail(
    request: HttpRequest, response: HttpResponse, contact_id: int, expand: Query[Expand]
) -> object:
    """One contact, with its ETag; send it as If-None-Match to get 304 when unchanged."""
    wanted = _expansions(expand)
    contact = _visible_contact(request, contact_id, expand=wanted)
    if "company" in wanted:
        _expand_companies([contact], current_user(request))
    return conditional_read(request, response, contact)


add_timeline_endpoint(router, Contact, "contacts")


def _new_contact(write_as: Actor, data: dict[str, Any]) -> Contact:
    # Fields left out take the model's defaults, except the source: this is the API.
    data.setdefault("source", ContactSource.API)
    return services.contact_create(actor=write_as, **_service_arguments(data))


@router.post("/contacts", response={201: ContactOut, **problems(403, 422)})
def contact_create(request: HttpRequest, response: HttpResponse, payload: ContactIn) -> Status:
    contact = _new_contact(actor(request), payload.model_dump(exclude_unset=True))
    contact = _contacts().get(pk=contact.pk)
    return created(response, contact, "api:contact_detail", contact_id=contact.pk)


@router.patch(
    "/contacts/{int:contact_id}",
    response={200: ContactOut, **problems(400, 403, 404, 412, 422)},
    openapi_extra=IF_MATCH,
)
def contact_update(
    request: HttpRequest, response: HttpResponse, contact_id: int, payload: ContactPatch
) -> Contact:
    """Change a contact; lists given replace the contact's. Honours If-Match."""
    contact = services.contact_update(
        _visible_contact(request, contact_id),
        actor=actor(request),
        expected_version=expected_version(request),
        **_service_arguments(payload.model_dump(exclude_unset=True)),
    )
    contact = _contacts().get(pk=contact.pk)
    set_etag(response, contact)
    return contact


@router.delete(
    "/contacts/{int:contact_id}",
    response={204: None, **problems(400, 403, 404, 412)},
    openapi_extra=IF_MATCH,
)
def contact_delete(request: HttpRequest, contact_id: int) -> Status:
    """Move a contact to the trash. Honours If-Match."""
    return trashed(request, services.contact_delete, _visible_contact(request, contact_id))


@router.post("/contacts/bulk", response={200: BulkOut, **problems(422)})
def contact_bulk(request: HttpRequest, payload: ContactBulkIn) -> dict:
    """Create and update up to 1,000 contacts; each item answers with its own status."""
    write_as = actor(request)

    def create(data: dict[str, Any]) -> Contact:
        return _new_contact(write_as, data)

    def update(contact_id: int, version: int | None, data: dict[str, Any]) -> Contact:
        return services.contact_update(
            _visible_contact(request, contact_id),
            actor=write_as,
            expected_version=version,
            **_service_arguments(data),
        )

    return _bulk(payload.create, payload.update, create=create, update=update)


# Lists


def _lists(request: HttpRequest) -> models.QuerySet[StaticList]:
    return queries.visible_lists(current_user(request)).annotate(member_count=Count("memberships"))


def _visible_list(request: HttpRequest, list_id: int) -> StaticList:
    return get_object_or_404(_lists(request), pk=list_id)


def _members(request: HttpRequest, payload: MembersIn) -> list[Contact]:
    visible = queries.visible_contacts(current_user(request))
    return objects_by_ids(visible, payload.contact_ids, field="contact_ids")


@router.get("/lists", response={200: PageOut[ListOut], **problems(400, 422)})
def list_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """The static lists you may see, by name."""
    return paginate(request, response, _lists(request), ordering=["name", "id"], params=page)


@router.get("/lists/{int:list_id}", response={200: ListOut, **problems(404)})
def list_detail(request: HttpRequest, list_id: int) -> StaticList:
    return _visible_list(request, list_id)


@router.post("/lists", response={201: ListOut, **problems(403, 422)})
def list_create(request: HttpRequest, response: HttpResponse, payload: ListIn) -> Status:
    static_list = services.list_create(actor=actor(request), **payload.model_dump())
    return created(
        response, _visible_list(request, static_list.pk), "api:list_detail", list_id=static_list.pk
    )


@router.patch("/lists/{int:list_id}", response={200: ListOut, **problems(403, 404, 422)})
def list_update(request: HttpRequest, list_id: int, payload: ListPatch) -> StaticList:
    """Rename a list, describe it, or hand it to another owner or team."""
    static_list = services.list_update(
        _visible_list(request, list_id),
        actor=actor(request),
        **payload.model_dump(exclude_unset=True),
    )
    # Handed to someone outside the caller's scope, the list is still theirs to read once.
    return StaticList.objects.annotate(member_count=Count("memberships")).get(pk=static_list.pk)


@router.delete("/lists/{int:list_id}", response={204: None, **problems(403, 404)})
def list_delete(request: HttpRequest, list_id: int) -> Status:
    """Delete a list; its contacts stay."""
    services.list_delete(_visible_list(request, list_id), actor=actor(request))
    return Status(204, None)


@router.post(
    "/lists/{int:list_id}/members", response={200: MembersAdded, **problems(403, 404, 422)}
)
def list_members_add(request: HttpRequest, list_id: int, payload: MembersIn) -> dict:
    """Add contacts to a list; those already on it are skipped."""
    static_list = _visible_list(request, list_id)
    added = services.list_add(static_list, _members(request, payload), actor=actor(request))
    return {"added": added}


@router.delete(
    "/lists/{int:list_id}/members", response={200: MembersRemoved, **problems(403, 404, 422)}
)
def list_members_remove(request: HttpRequest, list_id: int, payload: MembersIn) -> dict:
    """Take contacts off a list; those not on it are skipped."""
    static_list = _visible_list(request, list_id)
    removed = services.list_remove(static_list, _members(request, payload), actor=actor(request))
    return {"removed": removed}


# Tags


@router.get("/tags", response={200: PageOut[TagOut], **problems(400, 422)})
def tag_list(request: HttpRequest, response: HttpResponse, page: Query[PageParams]) -> dict:
    """Every tag, by name."""
    return paginate(request, response, Tag.objects.all(), ordering=["name", "id"], params=page)


@router.get("/tags/{int:tag_id}", response={200: TagOut, **problems(404)})
def tag_detail(request: HttpRequest, tag_id: int) -> Tag:
    return get_object_or_404(Tag, pk=tag_id)


@router.post("/tags", response={201: TagOut, **problems(403, 422)})
def tag_create(request: HttpRequest, response: HttpResponse, payload: TagIn) -> Status:
    """Add a tag (admins)."""
    tag = services.tag_create(actor=actor(request), **payload.model_dump())
    return created(response, tag, "api:tag_detail", tag_id=tag.pk)


@router.patch("/tags/{int:tag_id}", response={200: TagOut, **problems(403, 404, 422)})
def tag_update(request: HttpRequest, tag_id: int, payload: TagPatch) -> Tag:
    """Rename or recolour a tag (admins)."""
    tag = get_object_or_404(Tag, pk=tag_id)
    return services.tag_update(tag, actor=actor(request), **payload.model_dump(exclude_unset=True))


@router.delete("/tags/{int:tag_id}", response={204: None, **problems(403, 404)})
def tag_delete(request: HttpRequest, tag_id: int) -> Status:
    """Delete a tag (admins); records that carried it lose it."""
    services.tag_delete(get_object_or_404(Tag, pk=tag_id), actor=actor(request))
    return Status(204, None)


# Custom fields


def _content_type(object_type: str, *, field: str) -> ContentType:
    for model in record_models():
        if model._meta.label_lower == object_type:
            return ContentType.objects.get_for_model(model)
    known = ", ".join(model._meta.label_lower for model in record_models())
    raise ValidationError({field: [_("Use one of: %(types)s.") % {"types": known}]})


def _definitions() -> models.QuerySet[CustomFieldDefinition]:
    return CustomFieldDefinition.objects.select_related("content_type")


@router.get("/custom-fields", response={200: PageOut[CustomFieldOut], **problems(400, 422)})
def customfield_list(
    request: HttpRequest,
    response: HttpResponse,
    filters: Query[CustomFieldFilters],
    page: Query[PageParams],
) -> dict:
    """The custom fields defined per object type, in form order: the keys of ``custom``."""
    definitions = _definitions()
    if filters.object_type:
        definitions = definitions.filter(
            content_type=_content_type(filters.object_type, field="object_type")
        )
    return paginate(
        request, response, definitions, ordering=["position", "label", "id"], params=page
    )


@router.get("/custom-fields/{int:field_id}", response={200: CustomFieldOut, **problems(404)})
def customfield_detail(request: HttpRequest, field_id: int) -> CustomFieldDefinition:
    return get_object_or_404(_definitions(), pk=field_id)


@router.post("/custom-fields", response={201: CustomFieldOut, **problems(403, 422)})
def customfield_create(
    request: HttpRequest, response: HttpResponse, payload: CustomFieldIn
) -> Status:
    """Define a custom field (admins)."""
    values = payload.model_dump()
    content_type = _content_type(values.pop("object_type"), field="object_type")
    definition = customfields.customfield_create(
        actor=actor(request), content_type=content_type, **values
    )
    return created(
        response,
        _definitions().get(pk=definition.pk),
        "api:customfield_detail",
        field_id=definition.pk,
    )


@router.patch(
    "/custom-fields/{int:field_id}", response={200: CustomFieldOut, **problems(403, 404, 422)}
)
def customfield_update(
    request: HttpRequest, field_id: int, payload: CustomFieldPatch
) -> CustomFieldDefinition:
    """Change a custom field (admins); its key and type stay."""
    definition = get_object_or_404(_definitions(), pk=field_id)
    return customfields.customfield_update(
        definition, actor=actor(request), **payload.model_dump(exclude_unset=True)
    )


@router.delete("/custom-fields/{int:field_id}", response={204: None, **problems(403, 404)})
def customfield_delete(request: HttpRequest, field_id: int) -> Status:
    """Remove a custom field (admins); stored values stay in the records' history."""
    customfields.customfield_delete(
        get_object_or_404(CustomFieldDefinition, pk=field_id), actor=actor(request)
    )
    return Status(204, None)
