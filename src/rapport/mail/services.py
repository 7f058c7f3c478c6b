"""Email out: templates, and sending an email to a contact.

Rules:
- Any signed-in user keeps templates of their own. A shared template is offered
  to everyone, and only admins share one, change one or delete one.
- A template's subject and text, like those of any email sent, may use only the
  merge fields of ``mail.merge``; anything else is refused when it is saved.
- Sending needs a contact the actor may see (404 otherwise) and the create grant
  on activities. It is refused for a contact who asked not to be emailed or has
  no address, for a "to" that is not one of the contact's addresses, for a cc
  that is not an address, and for a subject that holds a line break once its
  merge fields are filled in (it would be a header injection).
- The email is an activity of kind email (outbound) on the timelines of the
  contact and of their company (when the actor may see it), written with its
  ``OutgoingEmail`` (queued) in one transaction. Its delivery is enqueued once
  that commits; ``mail.delivery`` sends it.

Bad input raises one ``ValidationError`` keyed by field before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.utils import make_msgid, parseaddr
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from rapport.activities.links import Target, visible_records
from rapport.activities.models import MAX_BODY_CHARS, Activity, ActivityKind, Direction
from rapport.activities.services import activity_create
from rapport.attachments.services import attachment_upload
from rapport.contacts.models import Contact
from rapport.core.actors import Actor
from rapport.core.audit import audit_log, diff, snapshot
from rapport.core.events import emit
from rapport.core.models import AuditAction
from rapport.core.permissions import can_create, require
from rapport.mail import merge
from rapport.mail.models import SUBJECT_MAX_LENGTH, DeliveryStatus, EmailTemplate, OutgoingEmail
from rapport.mail.queries import can_manage_template, visible_templates

Errors = dict[str, list[str]]
MAX_CC = 20
TEMPLATE_FIELDS = ("name", "subject", "body", "shared")


def _has_line_break(text: str) -> bool:
    return any(character in text for character in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


# Templates


def _signed_in(actor: Actor) -> None:
    if actor.user is None or not actor.user.is_active:
        raise PermissionDenied


def _template_errors(template: EmailTemplate) -> Errors:
    errors: Errors = {}
    try:
        template.full_clean(exclude=["owner"])
    except ValidationError as error:
        errors.update(error.message_dict)
    for name in ("subject", "body"):
        if name not in errors and (problems := merge.merge_errors(getattr(template, name))):
            errors[name] = problems
    if "subject" not in errors and _has_line_break(template.subject):
        errors["subject"] = [_("The subject must be one line.")]
    return errors


def _apply_template_values(template: EmailTemplate, values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(TEMPLATE_FIELDS))
    if unknown:
        raise ValidationError({name: [_("This field cannot be set.")] for name in unknown})
    for name, value in values.items():
        setattr(template, name, value)
    errors = _template_errors(template)
    if errors:
        raise ValidationError(errors)


def template_create(
    *, actor: Actor, name: str, subject: str, body: str, shared: bool = False
) -> EmailTemplate:
    """Add a template owned by the actor; only an admin may share it."""
    _signed_in(actor)
    if shared and not actor.user.is_admin:
        raise PermissionDenied(_("Only admins share templates."))
    template = EmailTemplate(owner=actor.user)
    _apply_template_values(
        template, {"name": name, "subject": subject, "body": body, "shared": shared}
    )
    with transaction.atomic():
        template.save()
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            obj=template,
            changes=diff({}, snapshot(template)),
        )
        emit("emailtemplate.created", obj=template, actor=actor)
    return template


def _require_manager(actor: Actor, template: EmailTemplate) -> None:
    """404 for a template the actor may not see, 403 for one they may not change."""
    _signed_in(actor)
    if not visible_templates(actor.user).filter(pk=template.pk).exists():
        raise Http404
    if not can_manage_template(actor.user, template):
        raise PermissionDenied(_("Only admins change shared templates."))


def template_update(template: EmailTemplate, *, actor: Actor, **values: Any) -> EmailTemplate:
    """Change a template's ``name``, ``subject``, ``body`` or (admins) ``shared``."""
    _require_manager(actor, template)
    if values.get("shared", template.shared) != template.shared and not actor.user.is_admin:
        raise PermissionDenied(_("Only admins share templates."))
    with transaction.atomic():
        template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
        before = snapshot(template)
        _apply_template_values(template, values)
        changes = diff(before, snapshot(template))
        if changes:
            template.save()
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=template, changes=changes)
            emit("emailtemplate.updated", obj=template, actor=actor, payload={"changes": changes})
    return template


def template_delete(template: EmailTemplate, *, actor: Actor) -> None:
    """Delete a template; the emails written from it stay."""
    _require_manager(actor, template)
    with transaction.atomic():
        audit_log(actor=actor, action=AuditAction.PURGE, obj=template, changes={})
        emit("emailtemplate.deleted", obj=template, actor=actor, payload={"name": template.name})
        template.delete()


# Sending


def contact_addresses(contact: Contact) -> list[str]:
    """The contact's email addresses, the primary one first."""
    addresses = [row.email for row in contact.emails.all()]
    if contact.email and contact.email not in addresses:
        addresses.insert(0, contact.email)
    return addresses


def sender_address() -> str:
    """The address every email leaves from: that of ``RAPPORT_EMAIL_FROM``."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def new_message_id() -> str:
    """A Message-ID (``<…@domain>``) in the domain of the sending address."""
    domain = sender_address().rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def email_refusal(contact: Contact, addresses: Sequence[str] | None = None) -> str:
    """Why ``contact`` cannot be emailed at all; empty when they can."""
    if contact.do_not_email:
        return _("%(contact)s asked not to be emailed.") % {"contact": contact}
    if not (contact_addresses(contact) if addresses is None else addresses):
        return _("%(contact)s has no email address.") % {"contact": contact}
    return ""


def _recipient_errors(
    contact: Contact, to: str | None, cc: Sequence[str], errors: Errors
) -> tuple[str, list[str]]:
    """The "to" and cc addresses, normalised, after checking them into ``errors``."""
    addresses = contact_addresses(contact)
    refusal = email_refusal(contact, addresses)
    if refusal:
        errors[NON_FIELD_ERRORS] = [refusal]
    chosen = (to or "").strip().lower() or (addresses[0] if addresses else "")
    if addresses and chosen not in addresses:
        errors["to"] = [
            _("Choose one of the contact's addresses: %(addresses)s.")
            % {"addresses": ", ".join(addresses)}
        ]
    copies = list(dict.fromkeys(address.strip().lower() for address in cc if address.strip()))
    wrong = [address for address in copies if not _valid_address(address)]
    if wrong:
        errors["cc"] = [
            _("Not valid email addresses: %(addresses)s.") % {"addresses": ", ".join(wrong)}
        ]
    elif len(copies) > MAX_CC:
        errors["cc"] = [_("Copy at most %(count)d addresses.") % {"count": MAX_CC}]
    return chosen, [address for address in copies if address != chosen]


def _valid_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return not _has_line_break(address)


def _rendered(name: str, text: str, values: Mapping[str, Mapping[str, str]], errors: Errors) -> str:
    if not text.strip():
        errors[name] = [_("This field is required.")]
        return ""
    problems = merge.merge_errors(text)
    if problems:
        errors[name] = problems
        return ""
    return merge.render(text, values)


def render_email(
    *, actor: Actor, contact: Contact, subject: str, body: str, to: str | None = None
) -> tuple[str, str]:
    """The subject and text as ``contact`` would receive them, or a ``ValidationError``
    naming what is wrong with them (the compose page's preview)."""
    errors: Errors = {}
    values = merge.merge_values(contact=contact, sender=actor.user, to=to)
    rendered_subject = _rendered("subject", subject, values, errors)
    rendered_body = _rendered("body", body, values, errors)
    if "subject" not in errors:
        if _has_line_break(rendered_subject):
            errors["subject"] = [_("The subject must be one line.")]
        elif len(rendered_subject) > SUBJECT_MAX_LENGTH:
            errors["subject"] = [
                _("The subject is longer than %(count)d characters.")
                % {"count": SUBJECT_MAX_LENGTH}
            ]
    if errors:
        raise ValidationError(errors)
    return rendered_subject, rendered_body


def _usable_template(actor: Actor, template: EmailTemplate | None, errors: Errors) -> None:
    if template is not None and not visible_templates(actor.user).filter(pk=template.pk).exists():
        errors["template"] = [_("No such template, or not one you may use.")]


def _links(actor: Actor, contact: Contact) -> list[Target]:
    """The contact, and their company if the actor may see it."""
    targets = [Target.of(contact)]
    if contact.company_id is not None:
        company = Target("contacts.company", contact.company_id)
        targets += list(visible_records(actor.user, [company]))
    return targets


def email_send(
    *,
    actor: Actor,
    contact: Contact,
    subject: str,
    body: str,
    to: str | None = None,
    cc: Sequence[str] = (),
    template: EmailTemplate | None = None,
    replying_to: Activity | None = None,
    attachments: Sequence[File] = (),
) -> Activity:
    """Write an email to ``contact`` at ``to`` (their primary address if not given) and
    queue it for delivery. ``subject`` and ``body`` may use merge fields; the activity
    keeps them as sent. ``template`` records which template the text came from.
    ``replying_to``, an email the actor may see, puts this one in its thread.
    ``attachments`` (files with names: a quote's PDF) are stored on the email's activity
    in the same transaction, and delivery attaches them."""
    require(actor.user, "view", contact)
    if replying_to is not None:
        require(actor.user, "view", replying_to)
    # Read again: whether they may be emailed, and at which addresses, is decided now.
    contact = get_object_or_404(Contact.objects.select_related("company"), pk=contact.pk)
    if not can_create(actor.user, Activity):
        raise PermissionDenied
    errors: Errors = {}
    chosen, copies = _recipient_errors(contact, to, cc, errors)
    _usable_template(actor, template, errors)
    try:
        rendered_subject, rendered_body = render_email(
            actor=actor, contact=contact, subject=subject, body=body, to=chosen
        )
    except ValidationError as error:
        errors |= error.message_dict
    if replying_to is not None and not is_answerable(replying_to):
        errors["replying_to"] = [_("Only an email with a Message-ID can be answered.")]
    if errors:
        raise ValidationError(errors)
    sender = actor.user
    message_id = new_message_id()
    thread = thread_headers(replying_to)
    values = {
        "subject": rendered_subject,
        "body": _with_quote(rendered_body, replying_to),
        "direction": Direction.OUTBOUND,
        "email_from": sender.email,
        "email_to": [chosen],
        "email_cc": copies,
        "message_id": message_id,
        "thread_id": thread.get("thread_id") or message_id,
    }
    with transaction.atomic():
        activity = activity_create(
            actor=actor, kind=ActivityKind.EMAIL, links=_links(actor, contact), values=values
        )
        OutgoingEmail.objects.create(
            activity=activity,
            template=template,
            # One line: a display name is a header too.
            from_name=" ".join((sender.get_full_name() or sender.email).split())[:200],
            reply_to=sender.email,
            in_reply_to=thread.get("in_reply_to", ""),
            references=thread.get("references", ""),
            next_attempt_at=timezone.now(),
        )
        for file in attachments:
            attachment_upload(actor=actor, record=activity, file=file)
        transaction.on_commit(partial(enqueue_delivery, activity.pk), robust=True)
    return activity


def is_answerable(activity: Activity) -> bool:
    return activity.kind == ActivityKind.EMAIL and bool(activity.message_id)


def thread_headers(replying_to: Activity | None) -> dict[str, str]:
    """The thread, In-Reply-To and References of an answer to ``replying_to``."""
    if replying_to is None:
        return {}
    thread_id = replying_to.thread_id or replying_to.message_id
    references = dict.fromkeys([thread_id, replying_to.message_id])
    return {
        "thread_id": thread_id,
        "in_reply_to": replying_to.message_id,
        "references": " ".join(references),
    }


def _with_quote(body: str, replying_to: Activity | None) -> str:
    """``body`` followed by the answered email quoted, which merge fields never touch."""
    if replying_to is None or not replying_to.body:
        return body
    when = formats.date_format(timezone.localtime(replying_to.occurred_at), "DATETIME_FORMAT")
    heading = _("On %(when)s, %(sender)s wrote:") % {
        "when": when,
        "sender": replying_to.email_from,
    }
    quoted = "\n".join(f"> {line}" if line else ">" for line in replying_to.body.splitlines())
    return f"{body}\n\n{heading}\n{quoted}"[:MAX_BODY_CHARS]


def reply_subject(subject: str) -> str:
    """``subject`` answered: "Re: " in front, once."""
    return subject if subject[:3].lower() == "re:" else f"Re: {subject}"[:SUBJECT_MAX_LENGTH]


def enqueue_delivery(email_id: int) -> None:
    """Ask a worker to deliver the email now; the delivery sweep covers a lost request."""
    from rapport.mail.tasks import deliver_email

    deliver_email.enqueue(email_id)


def email_retry(email: OutgoingEmail, *, actor: Actor) -> OutgoingEmail:
    """Queue a failed email again, with a fresh set of attempts (its sender, or whoever
    may edit the activity). It keeps its Message-ID, so a copy that did arrive after
    all is recognised as the same message by the recipient's mail program."""
    activity = email.activity
    require(actor.user, "edit", activity)
    if activity.is_deleted:
        raise Http404
    with transaction.atomic():
        requeued = OutgoingEmail.objects.filter(pk=email.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_at=None,
            last_error="",
        )
        if not requeued:
            raise ValidationError(_("Only an email whose delivery failed can be sent again."))
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=activity,
            changes={"delivery": [DeliveryStatus.FAILED, DeliveryStatus.QUEUED]},
        )
        emit("email.requeued", obj=activity, actor=actor)
        transaction.on_commit(partial(enqueue_delivery, email.pk), robust=True)
    email.refresh_from_db()
    return email
