"""Pages of email out: templates, the compose page of a contact, and an email's
delivery status (polled by the timeline while it is pending). Thin: read through
``mail.queries``, write through ``mail.services``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from rapport.activities.models import Activity
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.pagination import keyset_page
from rapport.core.permissions import can_create, get_visible_or_404
from rapport.mail import mailboxes, queries, services
from rapport.mail.forms import ComposeForm, MailboxForm, TemplateForm
from rapport.mail.models import EmailTemplate, InboundOutcome, Mailbox, OutgoingEmail

TEMPLATES_PER_PAGE = 50
RECEIVED_PER_PAGE = 50


# Templates ------------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    templates = queries.visible_templates(request.user).select_related("owner")
    page = keyset_page(
        templates,
        ordering=["name", "id"],
        cursor=request.GET.get("cursor"),
        limit=TEMPLATES_PER_PAGE,
    )
    for template in page.items:
        template.manageable = queries.can_manage_template(request.user, template)
    return render(request, "mail/template_list.html", {"page": page})


def _template_values(template: EmailTemplate) -> dict[str, Any]:
    return {name: getattr(template, name) for name in services.TEMPLATE_FIELDS}


@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                actor=Actor.for_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("The template “%(name)s” is created.") % {"name": template.name}
            )
            return redirect("mail:template_list")
    return render(request, "mail/template_form.html", {"form": form, "template": None})


def _manageable(request: HttpRequest, pk: int) -> EmailTemplate:
    template = get_object_or_404(queries.visible_templates(request.user), pk=pk)
    if not queries.can_manage_template(request.user, template):
        raise PermissionDenied
    return template


@login_required
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = _manageable(request, pk)
    form = TemplateForm(request.POST or None, user=request.user, initial=_template_values(template))
    if request.method == "POST" and form.is_valid():
        try:
            services.template_update(
                template, actor=Actor.for_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The template is saved."))
            return redirect("mail:template_list")
    return render(request, "mail/template_form.html", {"form": form, "template": template})


@login_required
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = _manageable(request, pk)
    if request.method == "POST":
        services.template_delete(template, actor=Actor.for_request(request))
        messages.success(
            request, _("The template “%(name)s” is deleted.") % {"name": template.name}
        )
        return redirect("mail:template_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Delete the template “%(name)s”?") % {"name": template.name},
            "explanation": _("The emails written with it stay on their timelines."),
            "cancel_url": reverse("mail:template_list"),
        },
    )


# Compose --------------------------------------------------------------------------------


def _compose_form(
    request: HttpRequest, addresses: list[str], data: Any = None, initial: dict | None = None
) -> ComposeForm:
    return ComposeForm(
        data,
        initial=initial,
        addresses=addresses,
        templates=queries.visible_templates(request.user),
        emails=queries.answerable_emails(request.user),
    )


def _replying_to(request: HttpRequest) -> Activity | None:
    """The email being answered (``?replying_to=``), which the user must be able to see."""
    chosen = request.POST.get("replying_to") or request.GET.get("replying_to", "")
    if not chosen.isdigit():
        return None
    return get_object_or_404(queries.answerable_emails(request.user), pk=int(chosen))


def _initial(
    request: HttpRequest, addresses: list[str], replying_to: Activity | None
) -> dict[str, Any]:
    """The form's first values: the primary address (for a reply, the address that
    wrote), and the chosen template's text or the answered email's subject."""
    initial: dict[str, Any] = {"to": addresses[0] if addresses else ""}
    if replying_to is not None:
        initial["replying_to"] = replying_to.pk
        initial["subject"] = services.reply_subject(replying_to.subject)
        if replying_to.email_from in addresses:
            initial["to"] = replying_to.email_from
    chosen = request.GET.get("template", "")
    if chosen.isdigit():
        template = get_object_or_404(queries.visible_templates(request.user), pk=int(chosen))
        initial |= {"template": template.pk, "subject": template.subject, "body": template.body}
    return initial


def _send(request: HttpRequest, contact: Contact, form: ComposeForm) -> Activity | None:
    try:
        return services.email_send(
            actor=Actor.for_request(request), contact=contact, **form.cleaned_data
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return None


def _preview(request: HttpRequest, contact: Contact, form: ComposeForm) -> dict[str, str]:
    data = form.cleaned_data
    try:
        subject, body = services.render_email(
            actor=Actor.for_request(request),
            contact=contact,
            subject=data["subject"],
            body=data["body"],
            to=data["to"],
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return {}
    return {"subject": subject, "body": body}


@login_required
def compose(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Write an email to a contact: from a template or freely, previewed, then sent."""
    contact = get_visible_or_404(
        Contact.objects.select_related("company"), request.user, pk=contact_id
    )
    if not can_create(request.user, Activity):
        raise PermissionDenied
    addresses = services.contact_addresses(contact)
    replying_to = _replying_to(request)
    preview: dict[str, str] = {}
    if request.method == "POST":
        form = _compose_form(request, addresses, request.POST)
        if form.is_valid():
            if request.POST.get("action") == "preview":
                preview = _preview(request, contact, form)
            elif _send(request, contact, form) is not None:
                messages.success(
                    request, _("The email is on its way; the timeline shows its delivery.")
                )
                return redirect(contact.get_absolute_url())
    else:
        form = _compose_form(request, addresses, initial=_initial(request, addresses, replying_to))
    context = {
        "contact": contact,
        "form": form,
        "preview": preview,
        "refusal": services.email_refusal(contact, addresses),
        "templates": queries.visible_templates(request.user),
        "chosen_template": form["template"].value(),
        "replying_to": replying_to,
    }
    if request.htmx and request.method == "GET":
        return render(request, "mail/_compose_form.html", context)
    return render(request, "mail/compose.html", context)


@login_required
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a logged email: the compose page of the contact who wrote it (or of the
    first contact it is on), in its thread."""
    email = get_object_or_404(queries.answerable_emails(request.user), pk=pk)
    contacts = queries.email_contacts(request.user, email)
    if not contacts:
        raise Http404
    writer = next((c for c in contacts if email.email_from in services.contact_addresses(c)), None)
    contact = writer or contacts[0]
    return redirect(f"{reverse('mail:compose', args=[contact.pk])}?replying_to={email.pk}")


# Delivery -------------------------------------------------------------------------------


def _visible_email(request: HttpRequest, pk: int) -> OutgoingEmail:
    return get_object_or_404(queries.visible_emails(request.user), pk=pk)


@login_required
def delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """An email's delivery status, for the timeline to poll while it is pending."""
    return render(request, "mail/_delivery.html", {"email": _visible_email(request, pk)})


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed email again. With htmx: its delivery status; without: its page."""
    email = _visible_email(request, pk)
    try:
        email = services.email_retry(email, actor=Actor.for_request(request))
    except ValidationError as error:
        if not request.htmx:
            messages.error(request, " ".join(error.messages))
    else:
        if not request.htmx:
            messages.success(request, _("The email is queued again."))
    if request.htmx:
        return render(request, "mail/_delivery.html", {"email": email})
    return redirect(email.activity.get_absolute_url())


# Mailboxes ------------------------------------------------------------------------------


def _mailbox_values(form: MailboxForm) -> dict[str, Any]:
    return {name: value for name, value in form.cleaned_data.items() if name != "password"}


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = list(queries.visible_mailboxes(request.user).order_by("name", "id"))
    for mailbox in mailboxes:
        mailbox.manageable = queries.can_manage_mailbox(request.user, mailbox)
    context = {"mailboxes": mailboxes, "crm_addresses": settings.MAIL_IN_ADDRESSES}
    return render(request, "mail/mailbox_list.html", context)


@login_required
def mailbox_connect(request: HttpRequest) -> HttpResponse:
    form = MailboxForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox = mailboxes.mailbox_connect(
                actor=Actor.for_request(request),
                password=form.cleaned_data["password"],
                values=_mailbox_values(form),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("“%(name)s” is connected; its new messages are logged every few minutes.")
                % {"name": mailbox.name},
            )
            return redirect("mail:mailbox_list")
    return render(request, "mail/mailbox_form.html", {"form": form, "mailbox": None})


def _manageable_mailbox(request: HttpRequest, pk: int) -> Mailbox:
    mailbox = get_object_or_404(queries.visible_mailboxes(request.user), pk=pk)
    if not queries.can_manage_mailbox(request.user, mailbox):
        raise PermissionDenied
    return mailbox


@login_required
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _manageable_mailbox(request, pk)
    form = MailboxForm(request.POST or None, instance=mailbox, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            mailboxes.mailbox_update(
                mailbox,
                actor=Actor.for_request(request),
                password=form.cleaned_data["password"],
                values=_mailbox_values(form),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The mailbox is saved."))
            return redirect("mail:mailbox_list")
    return render(request, "mail/mailbox_form.html", {"form": form, "mailbox": mailbox})


@login_required
@require_POST
def mailbox_sync(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _manageable_mailbox(request, pk)
    try:
        read = mailboxes.mailbox_sync(mailbox, actor=Actor.for_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d new message read from “%(name)s”.",
                "%(count)d new messages read from “%(name)s”.",
                read,
            )
            % {"count": read, "name": mailbox.name},
        )
    return redirect("mail:mailbox_list")


@login_required
def mailbox_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _manageable_mailbox(request, pk)
    if request.method == "POST":
        mailboxes.mailbox_disconnect(mailbox, actor=Actor.for_request(request))
        messages.success(request, _("“%(name)s” is disconnected.") % {"name": mailbox.name})
        return redirect("mail:mailbox_list")
    return render(
        request,
        "web/confirm_delete.html",
        {
            "title": _("Disconnect “%(name)s”?") % {"name": mailbox.name},
            "explanation": _("Its emails already logged stay on their timelines."),
            "cancel_url": reverse("mail:mailbox_list"),
        },
    )


@login_required
def received(request: HttpRequest) -> HttpResponse:
    """What became of the messages that reached Rapport for the user: logged,
    duplicates, unmatched and refused, newest first."""
    outcome = request.GET.get("outcome", "")
    received = queries.visible_inbound(request.user).select_related("activity")
    if outcome in InboundOutcome.values:
        received = received.filter(outcome=outcome)
    page = keyset_page(
        received,
        ordering=["-received_at", "-id"],
        cursor=request.GET.get("cursor"),
        limit=RECEIVED_PER_PAGE,
    )
    context = {"page": page, "outcome": outcome, "outcomes": InboundOutcome.choices}
    return render(request, "mail/received.html", context)
