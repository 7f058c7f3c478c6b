"""The machinery every API router shares: the NinjaAPI class, authentication,
RFC 9457 problem responses, paginated lists and the acting ``Actor``.

A domain's ``api.py`` declares a ``Router`` whose endpoints parse input with
schemas, call a service or a scoped query, and return; everything that can go
wrong is raised and turned into ``application/problem+json`` here.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Sequence
from functools import wraps
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import re_path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.responses import Status
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf
from pydantic import PrivateAttr, SerializerFunctionWrapHandler, model_serializer, model_validator
from pydantic import ValidationInfo as PydanticValidationInfo

from rapport.accounts.models import TokenScope
from rapport.accounts.tokens import token_authenticate
from rapport.config import RateLimit
from rapport.core.actors import Actor
from rapport.core.client_ip import client_ip
from rapport.core.etag import MalformedPrecondition, expected_version, set_etag
from rapport.core.exceptions import VersionConflict
from rapport.core.models import Source, VersionedModel
from rapport.core.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursor,
    keyset_page,
    link_header,
)
from rapport.core.permissions import CUSTOM_RULE_PREFIX, hidden_fields
from rapport.core.throttle import Throttled, counter_key, throttle

if TYPE_CHECKING:
    from rapport.accounts.models import User

logger = logging.getLogger("rapport.api")

PROBLEM_BASE = "https://rapport.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Problem type (the last part of its URI) per status, when the cause is not more specific.
PROBLEM_KINDS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    412: "version-conflict",
    413: "too-large",
    422: "validation",
    429: "throttled",
    500: "server-error",
}


# Problems


class FieldError(Schema):
    field: str | None = Field(description="Dotted path of the field; null for the whole request.")
    message: str


class Problem(Schema):
    """An RFC 9457 problem document (media type ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    current_version: int | None = Field(None, description="On 412: the record's version now.")


def problem(
    request: HttpRequest,
    status: int,
    title: str,
    *,
    detail: str | None = None,
    errors: Sequence[dict[str, str | None]] | None = None,
    kind: str | None = None,
    **extensions: Any,
) -> HttpResponse:
    """An ``application/problem+json`` response; ``kind`` names the problem type URI."""
    kind = kind or PROBLEM_KINDS.get(status)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extensions)
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """``response=`` entries documenting the problems an endpoint may answer (401 always)."""
    return {status: Problem for status in (401, *statuses)}


def validation_problem(request: HttpRequest, errors: list[dict[str, str | None]]) -> HttpResponse:
    detail = ngettext(
        "%(count)d field is not valid.", "%(count)d fields are not valid.", len(errors)
    ) % {"count": len(errors)}
    return problem(request, 422, _("The request is not valid"), detail=detail, errors=errors)


def _field_path(location: Sequence[str | int]) -> str | None:
    """``("body", "payload", "members", 0)`` → ``"members.0"``: drop where the value came
    from (and, for a body, the name of the view's parameter that holds it). A query
    string is flat, so a query parameter is named as it is written there:
    ``("query", "filters", "kind", 0)`` → ``"kind"``."""
    source, *path = location
    if source == "query":
        names = [part for part in path if isinstance(part, str)]
        return names[-1] if names else None
    if source == "body" and path:
        path = path[1:]
    return ".".join(str(part) for part in path) or None


def _on_request_validation(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
    errors = [{"field": _field_path(error["loc"]), "message": error["msg"]} for error in exc.errors]
    return validation_problem(request, errors)


def _on_service_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": None if field == NON_FIELD_ERRORS else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": None, "message": message} for message in exc.messages]
    return validation_problem(request, errors)


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(
        request, 404, _("Not found"), detail=_("No such record, or not one you may see.")
    )


def _on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(request, 403, _("Forbidden"), detail=str(exc) or _("You may not do this."))


def _on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = exc.message if exc.message != "Unauthorized" else None
    response = problem(
        request,
        401,
        _("Authentication required"),
        detail=detail or _("Send a session cookie or an Authorization: Bearer token."),
    )
    response["WWW-Authenticate"] = 'Bearer realm="Rapport API"'
    return response


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = _("Error")
    return problem(request, exc.status_code, title, detail=str(exc))


def _on_version_conflict(request: HttpRequest, exc: VersionConflict) -> HttpResponse:
    response = problem(
        request,
        412,
        _("The record has changed"),
        detail=_("It is now at version %(version)d; read it again and retry.")
        % {"version": exc.current_version},
        current_version=exc.current_version,
    )
    response["ETag"] = f'W/"{exc.current_version}"'
    return response


def _on_malformed_precondition(request: HttpRequest, exc: MalformedPrecondition) -> HttpResponse:
    return problem(
        request, 400, _("Malformed If-Match"), detail=str(exc), kind="malformed-if-match"
    )


def _on_invalid_cursor(request: HttpRequest, exc: InvalidCursor) -> HttpResponse:
    return problem(
        request,
        400,
        _("Invalid cursor"),
        detail=_("Use the next_cursor of a previous page unchanged."),
        kind="invalid-cursor",
    )


def _on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = problem(
        request,
        429,
        _("Too many requests"),
        detail=_("Slow down: try again in %(seconds)d seconds.") % {"seconds": exc.retry_after},
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The details go to the log, with the request id the client sees, never to the client.
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem(
        request,
        500,
        _("Internal server error"),
        detail=_("Something went wrong on our side. Quote request id %(id)s when reporting it.")
        % {"id": getattr(request, "request_id", "-")},
    )


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
    RequestValidationError: _on_request_validation,
    DjangoValidationError: _on_service_validation,
    Http404: _on_not_found,
    ObjectDoesNotExist: _on_not_found,
    PermissionDenied: _on_permission_denied,
    AuthenticationError: _on_unauthenticated,
    HttpError: _on_http_error,
    VersionConflict: _on_version_conflict,
    MalformedPrecondition: _on_malformed_precondition,
    InvalidCursor: _on_invalid_cursor,
    Throttled: _on_throttled,
    Exception: _on_unexpected,
}


# Authentication


def required_scope(method: str) -> TokenScope:
    """The token scope an operation of ``method`` needs: only reads are open to a
    read-only token. Every operation of the API is authenticated through here, so no
    endpoint can forget it; the OpenAPI description shows it as ``x-token-scope``."""
    return TokenScope.READ if method.upper() in SAFE_METHODS else TokenScope.READ_WRITE


def _rate_limit(kind: str, who: object, rate: RateLimit) -> None:
    # One upsert per request (see core.throttle); ``Throttled`` becomes a 429 problem.
    throttle(
        counter_key(kind, who), limit=rate.limit, window=datetime.timedelta(seconds=rate.window)
    )


def _limit_address(request: HttpRequest) -> None:
    _rate_limit("api-ip", client_ip(request), settings.API_IP_RATE_LIMIT)


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer rap_…``: a personal API token, counted against the token's
    rate limit. A read-only token may only read."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        api_token = token_authenticate(token)
        if api_token is None:
            # Guessing tokens counts against the address's limit.
            _limit_address(request)
            # A wrong token is an error, not a reason to try the session instead.
            raise AuthenticationError(message=_("The token is unknown, revoked or expired."))
        _rate_limit("api-token", api_token.pk, settings.API_RATE_LIMIT)
        needed = required_scope(request.method or "GET")
        if needed == TokenScope.READ_WRITE and api_token.scope != TokenScope.READ_WRITE:
            raise AuthorizationError(message=_("This token may only read."))
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """A signed-in browser, counted against its address's rate limit. Unsafe methods need
    the CSRF token (``X-CSRFToken``), as forms do."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Unlike ninja's SessionAuth, check CSRF only once we know there is a session,
        # so an anonymous request answers 401, not 403.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if not request.user.is_authenticated:
            return None
        _limit_address(request)
        if check_csrf(request) is not None:
            raise AuthorizationError(message=_("CSRF check failed: send the X-CSRFToken header."))
        return request.user


API_AUTH = [BearerTokenAuth(), SessionAuth()]


def authenticate(request: HttpRequest) -> User | None:
    """The user the request authenticates as through any of ``API_AUTH``."""
    for method in API_AUTH:
        user = method(request)
        if user:
            return user
    return None


def current_user(request: HttpRequest) -> User:
    """The authenticated user of an API request."""
    return request.auth  # type: ignore[attr-defined]


def actor(request: HttpRequest) -> Actor:
    """The ``Actor`` for services called from an API request."""
    return Actor(
        user=current_user(request),
        source=Source.API,
        request_id=getattr(request, "request_id", ""),
    )


# Conditional requests, documented on the endpoints that honour them (see core.etag)


def _header_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "in": "header",
                "name": name,
                "required": False,
                "schema": {"type": "string"},
                "description": description,
            }
        ]
    }


IF_NONE_MATCH = _header_parameter(
    "If-None-Match", 'The ETag you hold, e.g. W/"3": 304 Not Modified if it is still current.'
)
IF_MATCH = _header_parameter(
    "If-Match", 'The ETag you read, e.g. W/"3": 412 if the record has changed since. Optional.'
)


# Lists

ItemT = TypeVar("ItemT")


class RecordOut(Schema):
    """The base of every record's API output: the fields a role's rules hide from the
    reading user are absent from the JSON (custom ones from ``custom``), not null.
    ``core.permissions.hidden_fields`` decides; the schema's field names are the
    model's."""

    _hidden: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="wrap")
    @classmethod
    def _note_hidden_fields(
        cls, values: Any, handler: Callable[[Any], RecordOut], info: PydanticValidationInfo
    ) -> RecordOut:
        result = handler(values)
        request = (info.context or {}).get("request")
        if request is not None and isinstance(values, models.Model):
            result._hidden = hidden_fields(getattr(request, "auth", None), type(values))
        return result

    # No return annotation: the JSON schema stays the model's own, not "any object".
    @model_serializer(mode="wrap")
    def _without_hidden_fields(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        for name in self._hidden:
            if name.startswith(CUSTOM_RULE_PREFIX):
                custom = data.get("custom")
                if isinstance(custom, dict):
                    custom.pop(name.removeprefix(CUSTOM_RULE_PREFIX), None)
            else:
                data.pop(name, None)
        return data


class PageParams(Schema):
    cursor: str | None = Field(None, description="The next_cursor of the previous page.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class PageOut(Schema, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )


def paginate(
    request: HttpRequest,
    response: HttpResponse,
    queryset: models.QuerySet,
    *,
    ordering: Sequence[str],
    params: PageParams,
) -> dict[str, Any]:
    """One page of ``queryset`` as ``{"items", "next_cursor"}``, with a ``Link: rel="next"``."""
    page = keyset_page(queryset, ordering=ordering, cursor=params.cursor, limit=params.limit)
    link = link_header(request, page)
    if link:
        response["Link"] = link
    return {"items": page.items, "next_cursor": page.next_cursor}


def objects_by_ids(
    queryset: models.QuerySet, ids: Sequence[int], *, field: str
) -> list[models.Model]:
    """The rows ``ids`` name, or a ``ValidationError`` on ``field`` naming the unknown ones."""
    found = {obj.pk: obj for obj in queryset.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise DjangoValidationError(
            {field: [_("Unknown id: %(ids)s.") % {"ids": ", ".join(missing)}]}
        )
    return [found[pk] for pk in dict.fromkeys(ids)]


# The API itself


def _docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs page and the OpenAPI description are for signed-in users and token holders.

    A browser (asking for HTML) is sent to the sign-in page; other clients get a 401 problem.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            user = authenticate(request)
        except AuthenticationError as exc:
            return _on_unauthenticated(request, exc)
        except Throttled as exc:
            return _on_throttled(request, exc)
        if user is None:
            if "text/html" in request.headers.get("Accept", ""):
                return redirect_to_login(request.get_full_path())
            return _on_unauthenticated(request, AuthenticationError())
        return view(request, *args, **kwargs)

    return guarded


def _routing_problems(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer unknown paths and methods with problems too, not with HTML or plain text."""

    @wraps(view)
    def answered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:
            return _on_not_found(request, exc)
        if isinstance(response, HttpResponseNotAllowed):
            not_allowed = problem(
                request,
                405,
                _("Method not allowed"),
                detail=_("Allowed: %(methods)s.") % {"methods": response["Allow"]},
            )
            not_allowed["Allow"] = response["Allow"]
            return not_allowed
        return response

    return answered


@csrf_exempt
def _unknown_endpoint(request: HttpRequest) -> HttpResponse:
    raise Http404


def _merged_statuses(responses: dict[Any, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One entry per status: an endpoint's ``openapi_extra`` names statuses as strings
    ("200") where ninja uses integers, and JSON with both keys twice is invalid."""
    merged: dict[str, dict[str, Any]] = {}
    for status, answer in responses.items():
        merged.setdefault(str(status), {}).update(answer)
    return merged


class RapportAPI(NinjaAPI):
    """A NinjaAPI whose default auth is bearer token or session and whose every error is a
    problem document."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("auth", API_AUTH)
        kwargs.setdefault("docs_decorator", _docs_access)
        super().__init__(**kwargs)

    def set_default_exception_handlers(self) -> None:
        for exc_class, handler in EXCEPTION_HANDLERS.items():
            self.add_exception_handler(exc_class, handler)

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        # ninja documents every response as application/json; problems are not.
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                if operation.get("security"):
                    operation["x-token-scope"] = required_scope(method).value
                operation["responses"] = _merged_statuses(operation.get("responses", {}))
                for status, answer in operation["responses"].items():
                    if int(status) >= 400 and "application/json" in answer.get("content", {}):
                        answer["content"] = {
                            PROBLEM_CONTENT_TYPE: answer["content"]["application/json"]
                        }
        return schema

    @property
    def urls(self) -> tuple[list, str, str]:
        patterns, app_name, namespace = super().urls
        patterns.append(re_path(r"^", _unknown_endpoint, name="unknown-endpoint"))
        for pattern in patterns:
            pattern.callback = _routing_problems(pattern.callback)
        return patterns, app_name, namespace


def created(response: HttpResponse, body: Any, url_name: str, **url_kwargs: Any) -> Status:
    """A 201 answer with ``body``, its URL in ``Location`` and, for a versioned record, its
    ETag, so a client can update it with If-Match straight away."""
    if isinstance(body, VersionedModel):
        set_etag(response, body)
    response["Location"] = reverse(url_name, kwargs=url_kwargs)
    return Status(201, body)


def trashed(request: HttpRequest, delete: Callable[..., object], record: VersionedModel) -> Status:
    """The answer of a delete endpoint: ``record`` moved to the trash by its service's
    ``delete`` as the caller, honouring If-Match (412 on a stale version), then 204."""
    delete(record, actor=actor(request), expected_version=expected_version(request))
    return Status(204, None)
