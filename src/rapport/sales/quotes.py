"""The verbs of quotes: make one from a deal, change a draft, send it, and the
customer's answer on the public page.

A quote starts as a draft with the deal's line items (or the lines given), the
deal's company and first contact, in the deal's currency, valid for
``DEFAULT_VALIDITY``. Sending emails its PDF to the contact through the mail app
(the email lands on the contact's and company's timelines) with a link to a public
page that needs no login. The link holds a secret: ``<quote id>-<random>``; only
its SHA-256 digest is kept, compared in constant time, and each sending makes a
new one (the previous link stops working).

On that page the customer accepts or declines a sent quote until its
``valid_until`` day has passed (then it is marked expired, by the worker's hourly
sweep or when someone tries to answer it). Accepting creates an
order from the quote's lines (confirmed when the quote says so and the stock
allows, a draft otherwise) and, when the quote says so, marks the deal won. Those
writes are made on behalf of the quote's owner, whose rights apply. Events:
``quote.created``, ``quote.updated``, ``quote.sent``, ``quote.accepted``,
``quote.declined``, ``quote.expired``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import services as records
from rapport.core.actors import Actor
from rapport.core.audit import audit_log
from rapport.core.events import emit
from rapport.core.models import AuditAction, Source
from rapport.core.permissions import require
from rapport.core.schedule import every
from rapport.mail.services import email_send
from rapport.sales.deals import deal_close
from rapport.sales.documents import (
    apply_totals,
    build_lines,
    document_lines,
    next_number,
    resolve_customer,
    rewrite_document,
)
from rapport.sales.models import (
    Deal,
    Order,
    OrderStatus,
    Quote,
    QuoteLine,
    QuoteStatus,
    StageKind,
)
from rapport.sales.orders import order_create, order_transition
from rapport.sales.quote_pdf import quote_pdf
from rapport.sales.services import _currency, _only

QUOTE_FIELDS = frozenset(
    {
        "contact",
        "company",
        "currency",
        "quote_date",
        "valid_until",
        "confirm_order_on_accept",
        "win_deal_on_accept",
        "terms",
        "notes",
        "owner",
        "team",
    }
)
DEFAULT_VALIDITY = datetime.timedelta(days=30)
NUMBER_PREFIX = "Q"
SEQUENCE = "quote"
ANSWERABLE = (QuoteStatus.SENT,)
# Sent quotes past their validity are marked expired by the worker this often, so many
# at a time.
EXPIRY_SWEEP_SECONDS = 3600
EXPIRY_BATCH = 500


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def deal_lines(deal: Deal) -> list[dict[str, Any]]:
    """The deal's line items as the lines of a new quote."""
    return [
        {
            "product": item.product_id,
            "name": item.name,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "discount_percent": item.discount_percent,
            "tax_rate": item.tax_rate,
        }
        for item in deal.line_items.order_by("position", "id")
    ]


def default_valid_until() -> datetime.date:
    return timezone.localdate() + DEFAULT_VALIDITY


def _prepared(values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    values = _only(values, QUOTE_FIELDS)
    resolve_customer(values, actor)
    if "currency" in values:
        values["currency"] = _currency(values["currency"], active_only=True)
    for name in ("terms", "notes"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    return values


def _check_dates(quote: Quote) -> None:
    if quote.valid_until < quote.quote_date:
        raise ValidationError({"valid_until": [_("A quote is valid until its own date or later.")]})


def quote_create(
    *,
    actor: Actor,
    deal: Deal,
    values: Mapping[str, Any] | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Quote:
    """A draft quote for ``deal``: its line items unless ``lines`` are given, its company
    and first contact and its currency unless ``values`` say otherwise."""
    require(actor.user, "view", deal)
    if deal.is_deleted:
        raise Http404
    prepared = _prepared(values or {}, actor)
    first_contact = deal.participants.order_by("id").values_list("contact", flat=True).first()
    if "contact" not in prepared and first_contact is not None:
        prepared |= _prepared({"contact": first_contact}, actor)
    prepared.setdefault("company", deal.company)
    prepared.setdefault("currency", deal.currency)
    prepared.setdefault("quote_date", timezone.localdate())
    prepared.setdefault("valid_until", default_valid_until())
    if prepared.get("contact") is None and prepared.get("company") is None:
        raise ValidationError({"contact": [_("Choose a contact or a company.")]})
    prepared["deal"] = deal
    draft = Quote(**prepared)
    _check_dates(draft)
    items = deal_lines(deal) if lines is None else lines
    built = build_lines(QuoteLine, items, actor=actor, currency=draft.currency_id)
    prepared |= apply_totals(draft, built, day=draft.quote_date)
    with transaction.atomic():
        prepared["number"] = next_number(SEQUENCE, NUMBER_PREFIX)
        quote = records.record_create(Quote, actor=actor, values=prepared)
        for line in built:
            line.quote = quote
        QuoteLine.objects.bulk_create(built)
    return quote


def quote_update(
    quote: Quote,
    *,
    actor: Actor,
    values: Mapping[str, Any] | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    expected_version: int | None = None,
) -> Quote:
    """Change a draft quote's fields and, when ``lines`` are given, replace its lines."""
    require(actor.user, "edit", quote)
    if quote.is_deleted:
        raise Http404
    prepared = _prepared(values or {}, actor)
    with transaction.atomic():
        current = records.lock_record(quote, expected_version)
        if current.status != QuoteStatus.DRAFT:
            raise ValidationError({"status": [_("Only a draft quote can be changed.")]})
        for name, value in prepared.items():
            setattr(current, name, value)
        _check_dates(current)
        return rewrite_document(
            current,
            actor=actor,
            line_model=QuoteLine,
            values=prepared,
            lines=lines,
            day=current.quote_date,
        )


def _set_status(quote: Quote, status: str, actor: Actor, **fields: Any) -> None:
    """Save ``quote`` in ``status`` (with ``fields``), audited; the caller holds its lock."""
    previous = quote.status
    quote.status = status
    quote.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(quote, name, value)
    quote.version += 1
    quote.updated_by = actor.user
    quote.save(
        update_fields=[
            "status",
            "status_changed_at",
            "version",
            "updated_by",
            "updated_at",
            *fields,
        ]
    )
    audit_log(
        actor=actor, action=AuditAction.UPDATE, obj=quote, changes={"status": [previous, status]}
    )


def public_url(raw_token: str) -> str:
    return settings.SITE_URL + reverse("sales:quote_public", kwargs={"token": raw_token})


def _email_text(quote: Quote, link: str, message: str) -> tuple[str, str]:
    subject = _("Quote %(number)s from %(company)s") % {
        "number": quote.number,
        "company": settings.COMPANY_NAME,
    }
    body = _(
        "Hello,\n\nPlease find our quote %(number)s attached, valid until %(day)s.\n\n"
        "You can accept or decline it here:\n%(link)s\n"
    ) % {"number": quote.number, "day": quote.valid_until.isoformat(), "link": link}
    if message.strip():
        body = f"{message.strip()}\n\n{body}"
    return subject, body


def _check_sendable(quote: Quote) -> None:
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
        raise ValidationError(
            {"status": [_("An answered quote is not sent again: make a new one.")]}
        )
    if quote.is_expired:
        raise ValidationError(
            {"valid_until": [_("This quote is no longer valid: extend it or make a new one.")]}
        )
    if quote.contact is None:
        raise ValidationError({"contact": [_("The quote needs a contact to send it to.")]})


def quote_send(quote: Quote, *, actor: Actor, message: str = "") -> Quote:
    """Email the quote's PDF to its contact with a new public link; the quote is then
    sent. A draft or an already sent quote (sent again, with a new link) may be sent,
    until its validity has passed."""
    require(actor.user, "edit", quote)
    if quote.is_deleted:
        raise Http404
    _check_sendable(quote)
    raw = f"{quote.pk}-{secrets.token_urlsafe(32)}"
    subject, body = _email_text(quote, public_url(raw), message)
    pdf = ContentFile(quote_pdf(quote), name=f"{quote.number}.pdf")
    with transaction.atomic():
        locked = records.lock_record(quote, None)
        # Answered or changed while the PDF was being made: refuse, or send what is now.
        _check_sendable(locked)
        if locked.version != quote.version:
            raise ValidationError(_("The quote changed while it was being sent: send it again."))
        quote = locked
        email_send(
            actor=actor, contact=quote.contact, subject=subject, body=body, attachments=[pdf]
        )
        _set_status(
            quote,
            QuoteStatus.SENT,
            actor,
            sent_at=timezone.now(),
            public_token_digest=_digest(raw),
        )
        emit(
            "quote.sent",
            obj=quote,
            actor=actor,
            payload={"number": quote.number, "contact": quote.contact_id},
        )
    return quote


def quote_by_token(raw_token: str) -> Quote | None:
    """The quote a public link names, or ``None`` for a link that names none (a wrong,
    old or made-up one)."""
    pk, _dash, _secret = raw_token.partition("-")
    if not pk.isdigit() or not _secret:
        return None
    quote = Quote.objects.filter(pk=int(pk)).exclude(public_token_digest="").first()
    if quote is None or not hmac.compare_digest(quote.public_token_digest, _digest(raw_token)):
        return None
    return quote


def _owner_actor(quote: Quote) -> Actor:
    """Who the customer's answer acts for: the quote's owner (or its author)."""
    return Actor(user=quote.owner or quote.created_by, source=Source.SYSTEM)


def quote_answer(raw_token: str, *, accept: bool) -> tuple[Quote, Order | None]:
    """The customer's answer on the public page: the quote, and the order accepting it
    made. ``Http404`` for a link that names no quote; ``ValidationError`` for a quote
    already answered or no longer valid (marked expired then)."""
    found = quote_by_token(raw_token)
    if found is None:
        raise Http404
    actor = _owner_actor(found)
    cannot = _("This quote cannot be answered online: please contact us.")
    if actor.user is None or not actor.user.is_active:
        raise ValidationError(cannot)
    try:
        return _answer(found, actor=actor, accept=accept)
    except PermissionDenied:
        # The owner lost the rights the order or the deal needs: someone must step in.
        raise ValidationError(cannot) from None


def quote_record_answer(quote: Quote, *, actor: Actor, accept: bool) -> tuple[Quote, Order | None]:
    """The customer's answer to a sent quote given another way (by phone, on paper),
    recorded by someone who may edit the quote: the same effects as on the public page."""
    require(actor.user, "edit", quote)
    if quote.is_deleted:
        raise Http404
    return _answer(quote, actor=actor, accept=accept)


def quote_mark_sent(quote: Quote, *, actor: Actor) -> Quote:
    """A draft quote handed to the customer another way than by email (printed, in a
    meeting): sent, without a public link."""
    require(actor.user, "edit", quote)
    if quote.is_deleted:
        raise Http404
    with transaction.atomic():
        quote = records.lock_record(quote, None)
        if quote.status != QuoteStatus.DRAFT:
            raise ValidationError({"status": [_("Only a draft quote can be marked sent.")]})
        _set_status(quote, QuoteStatus.SENT, actor, sent_at=timezone.now())
        emit(
            "quote.sent",
            obj=quote,
            actor=actor,
            payload={"number": quote.number, "contact": quote.contact_id, "emailed": False},
        )
    return quote


def _expire(quote: Quote, actor: Actor) -> None:
    """Mark a sent quote past its validity expired; the caller holds its lock."""
    _set_status(quote, QuoteStatus.EXPIRED, actor)
    emit("quote.expired", obj=quote, actor=actor, payload={"number": quote.number})


def expire_quotes(*, today: datetime.date | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Mark expired the sent quotes whose ``valid_until`` day has passed, as the system,
    each in its own transaction; how many. Run by the worker every hour."""
    day = today or timezone.localdate()
    stale = Quote.objects.filter(status__in=ANSWERABLE, valid_until__lt=day)
    expired = 0
    for quote in stale.order_by("pk")[:batch]:
        with transaction.atomic():
            quote = records.lock_record(quote, None)
            if quote.status in ANSWERABLE and quote.valid_until < day:
                _expire(quote, Actor.system())
                expired += 1
    return expired


@every(EXPIRY_SWEEP_SECONDS, name="sales.expire_quotes")
def expire_quotes_sweep() -> int:
    return expire_quotes()


def _answer(found: Quote, *, actor: Actor, accept: bool) -> tuple[Quote, Order | None]:
    with transaction.atomic():
        quote = records.lock_record(found, None)
        if quote.status not in ANSWERABLE:
            raise ValidationError(
                _("This quote was already answered: it is %(status)s.")
                % {"status": quote.get_status_display().lower()}
            )
        expired = quote.is_expired
        if expired:
            _expire(quote, actor)
    if expired:
        raise ValidationError(
            _("This quote was valid until %(day)s and can no longer be answered.")
            % {"day": quote.valid_until.isoformat()}
        )
    with transaction.atomic():
        quote = records.lock_record(quote, None)
        order = _accept(quote, actor) if accept else None
        status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
        _set_status(quote, status, actor, responded_at=timezone.now())
        emit(
            f"quote.{status}",
            obj=quote,
            actor=actor,
            payload={"number": quote.number, "order": order.pk if order else None},
        )
    return quote, order


def _accept(quote: Quote, actor: Actor) -> Order:
    order = order_create(
        actor=actor,
        values={
            "contact": quote.contact_id,
            "company": quote.company_id,
            "deal": quote.deal_id,
            "quote": quote,
            "currency": quote.currency_id,
            "notes": _("Quote %(number)s accepted by the customer.") % {"number": quote.number},
        },
        lines=document_lines(quote),
    )
    if quote.confirm_order_on_accept:
        try:
            with transaction.atomic():
                order = order_transition(order, actor=actor, status=OrderStatus.CONFIRMED)
        except ValidationError:
            # Stock is short: the acceptance stands and the order waits as a draft for
            # someone to confirm it (or allow backorder).
            pass
    deal = quote.deal
    if quote.win_deal_on_accept and deal is not None and deal.status == StageKind.OPEN:
        deal_close(deal, actor=actor, won=True)
    return order
