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

from rapport.contacts.models import Contact
from rapport.core.api import PageOut, PageParams, actor, created, current_user, paginate, problems
from rapport.core.permissions import get_visible_or_404
from rapport.mail import queries, services
from rapport.mail.models import EmailTemplate, OutgoingEmail
from rapport.mail.schemas import EmailIn, EmailOut, TemplateIn, TemplateOut, TemplatePatch

router = Router(tags=["email"])


def _visible_email(request: HttpRequest, email_id: int) -> OutgoingEmail:
    return get_object_or_404(queries.visible_emails(current_user(request)), pk=email_id)


def _visible_template(request: HttpRequest, template_id: int) -> EmailTemplate:
    return get_object_or_404(queries.visible_templates(current_user(request)), pk=template_id)


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
