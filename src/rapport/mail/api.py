"""API for email out: send an email to a contact, read its delivery, send a failed one
again, and keep email templates. Thin: reads through ``mail.queries``, writes through
``mail.services``; a contact, email or template the caller may not see answers 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from rapport.activities.models import Activity
from rapport.contacts.models import Contact
from rapport.core.api import (
    PageOut,
    PageParams,
    actor,
    created,
    current_user,
    paginate,
    problem,
    problems,
)
from rapport.core.permissions import get_visible_or_404
from rapport.mail import queries, services
from rapport.mail.models import EmailTemplate, InboundChannel, InboundOutcome, OutgoingEmail
from rapport.mail.parsing import max_message_bytes, oversized_reason
from rapport.mail.receiving import Delivery, receive_email, refuse_email
from rapport.mail.schemas import (
    EmailIn,
    EmailOut,
    InboundOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)

router = Router(tags=["email"])


def _visible_email(request: HttpRequest, email_id: int) -> OutgoingEmail:
    return get_object_or_404(queries.visible_emails(current_user(request)), pk=email_id)


def _visible_template(request: HttpRequest, template_id: int) -> EmailTemplate:
    return get_object_or_404(queries.visible_templates(current_user(request)), pk=template_id)


def _answered_email(request: HttpRequest, activity_id: int | None) -> Activity | None:
    if activity_id is None:
        return None
    email = queries.answerable_emails(current_user(request)).filter(pk=activity_id).first()
    if email is None:
        raise ValidationError({"replying_to": [_("No such email, or not one you may see.")]})
    return email


def _chosen_template(request: HttpRequest, template_id: int | None) -> EmailTemplate | None:
    if template_id is None:
        return None
    template = queries.visible_templates(current_user(request)).filter(pk=template_id).first()
    if template is None:
        raise ValidationError({"template": [_("No such template, or not one you may use.")]})
    return template


@router.post(
    "/contacts/{int:contact_id}/emails", response={202: EmailOut, **problems(403, 404, 422)}
)
def email_send(
    request: HttpRequest, response: HttpResponse, contact_id: int, payload: EmailIn
) -> Status:
    """Send an email to a contact. It is queued and delivered in the background: follow
    its status at the Location returned. Refused (422) for a contact who asked not to
    be emailed or has no address."""
    contact = get_visible_or_404(
        Contact.objects.select_related("company"), current_user(request), pk=contact_id
    )
    template = _chosen_template(request, payload.template)
    replying_to = _answered_email(request, payload.replying_to)
    activity = services.email_send(
        actor=actor(request),
        contact=contact,
        subject=payload.subject
        if payload.subject is not None
        else getattr(template, "subject", ""),
        body=payload.body if payload.body is not None else getattr(template, "body", ""),
        to=payload.to,
        cc=payload.cc,
        template=template,
        replying_to=replying_to,
    )
    response["Location"] = reverse("api:email_detail", kwargs={"email_id": activity.pk})
    return Status(202, OutgoingEmail.objects.select_related("activity").get(pk=activity.pk))


@router.get("/emails/{int:email_id}", response={200: EmailOut, **problems(404)})
def email_detail(request: HttpRequest, email_id: int) -> OutgoingEmail:
    """An email sent from Rapport and its delivery."""
    return _visible_email(request, email_id)


@router.post("/emails/{int:email_id}/retry", response={200: EmailOut, **problems(403, 404, 422)})
def email_retry(request: HttpRequest, email_id: int) -> OutgoingEmail:
    """Queue an email whose delivery failed again (422 for any other)."""
    email = services.email_retry(_visible_email(request, email_id), actor=actor(request))
    return _visible_email(request, email.pk)


# Templates


@router.get("/email-templates", response={200: PageOut[TemplateOut], **problems(400, 422)})
def email_template_list(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict:
    """Your templates and the shared ones, by name."""
    templates = queries.visible_templates(current_user(request))
    return paginate(request, response, templates, ordering=["name", "id"], params=page)


@router.get("/email-templates/{int:template_id}", response={200: TemplateOut, **problems(404)})
def email_template_detail(request: HttpRequest, template_id: int) -> EmailTemplate:
    return _visible_template(request, template_id)


@router.post("/email-templates", response={201: TemplateOut, **problems(403, 422)})
def email_template_create(
    request: HttpRequest, response: HttpResponse, payload: TemplateIn
) -> Status:
    """Add a template of your own; only admins may share one. Unknown merge fields are
    refused (422)."""
    template = services.template_create(actor=actor(request), **payload.model_dump())
    return created(response, template, "api:email_template_detail", template_id=template.pk)


@router.patch(
    "/email-templates/{int:template_id}", response={200: TemplateOut, **problems(403, 404, 422)}
)
def email_template_update(
    request: HttpRequest, template_id: int, payload: TemplatePatch
) -> EmailTemplate:
    """Change your template; admins change shared ones."""
    return services.template_update(
        _visible_template(request, template_id),
        actor=actor(request),
        **payload.model_dump(exclude_unset=True),
    )


@router.delete("/email-templates/{int:template_id}", response={204: None, **problems(403, 404)})
def email_template_delete(request: HttpRequest, template_id: int) -> Status:
    """Delete your template; admins delete shared ones. Emails written with it stay."""
    services.template_delete(_visible_template(request, template_id), actor=actor(request))
    return Status(204, None)


@router.post(
    "/inbound-email",
    response={200: InboundOut, 201: InboundOut, 202: InboundOut, **problems(413, 415, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def inbound_email(request: HttpRequest, response: HttpResponse) -> Status | HttpResponse:
    """Log a raw RFC 822 message (``Content-Type: message/rfc822``) on the timelines of
    the contacts whose addresses it carries, as the caller. 201 when logged (Location:
    the email's activity), 200 when it already was, 202 when no contact matched;
    413 or 422 when it is refused, with the reason."""
    if request.content_type != "message/rfc822":
        return problem(
            request, 415, _("Send the message as message/rfc822."), kind="unsupported-media-type"
        )
    limit = max_message_bytes()
    raw = request.read(limit + 1)
    delivery = Delivery(channel=InboundChannel.API, user=current_user(request))
    if len(raw) > limit:
        refuse_email(delivery, size=len(raw), reason=oversized_reason())
        return problem(request, 413, oversized_reason())
    received = receive_email(raw, delivery=delivery)
    if received.outcome == InboundOutcome.REJECTED:
        return problem(request, 422, _("The message was refused."), detail=received.reason)
    if received.outcome == InboundOutcome.LOGGED:
        response["Location"] = reverse(
            "api:activity_detail", kwargs={"activity_id": received.activity_id}
        )
        return Status(201, received)
    return Status(200 if received.outcome == InboundOutcome.DUPLICATE else 202, received)
