"""A quote as a PDF (reportlab): the seller (``RAPPORT_COMPANY_NAME`` and
``RAPPORT_COMPANY_ADDRESS``), the customer, the lines and the totals, in the quote's
currency. Text from records is escaped before reportlab's paragraph markup reads it."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from rapport.sales.models import Quote
from rapport.sales.templatetags.money import amount

MARGIN = 18 * mm


def _text(value: object) -> str:
    return escape(str(value))


def _party(title: str, lines: list[str], style: object) -> Paragraph:
    body = "<br/>".join(_text(line) for line in lines if line)
    return Paragraph(f"<b>{_text(title)}</b><br/>{body}", style)


def _customer_lines(quote: Quote) -> list[str]:
    lines = []
    if quote.company is not None:
        lines.append(quote.company.name)
    if quote.contact is not None:
        lines.append(str(quote.contact))
        lines.append(quote.contact.email)
    return lines


def _lines_table(quote: Quote, places: int, style: object) -> Table:
    rows = [[_("Item"), _("Qty"), _("Unit price"), _("Discount"), _("Tax"), _("Net")]]
    for line in quote.lines.order_by("position", "id"):
        rows.append(
            [
                Paragraph(_text(line.name), style),
                str(line.quantity),
                amount(line.unit_price, places),
                f"{line.discount_percent.normalize():f} %",
                f"{line.tax_rate.normalize():f} %",
                amount(line.net_amount, places),
            ]
        )
    totals = [
        (_("Subtotal"), quote.subtotal),
        (_("Discount"), -quote.discount_total),
        (_("Net"), quote.net_total),
        (_("Tax"), quote.tax_total),
        (_("Total %(currency)s") % {"currency": quote.currency_id}, quote.total),
    ]
    first_total = len(rows)
    rows += [["", "", "", "", label, amount(value, places)] for label, value in totals]
    table = Table(rows, colWidths=[70 * mm, 14 * mm, 26 * mm, 20 * mm, 22 * mm, 26 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEABOVE", (4, first_total), (-1, first_total), 0.5, colors.black),
                ("FONTNAME", (4, -1), (-1, -1), "Helvetica-Bold"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def quote_pdf(quote: Quote) -> bytes:
    """The quote's PDF document."""
    styles = getSampleStyleSheet()
    places = quote.currency.decimal_places
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_("Quote %(number)s") % {"number": quote.number},
        author=settings.COMPANY_NAME,
    )
    parties = Table(
        [
            [
                _party(settings.COMPANY_NAME, settings.COMPANY_ADDRESS, styles["Normal"]),
                _party(_("Quote for"), _customer_lines(quote), styles["Normal"]),
            ]
        ],
        colWidths=[90 * mm, 88 * mm],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    facts = _("Date: %(date)s · Valid until: %(until)s") % {
        "date": formats.date_format(quote.quote_date, "DATE_FORMAT"),
        "until": formats.date_format(quote.valid_until, "DATE_FORMAT"),
    }
    story = [
        Paragraph(_text(_("Quote %(number)s") % {"number": quote.number}), styles["Title"]),
        Paragraph(_text(facts), styles["Normal"]),
        Spacer(1, 8 * mm),
        parties,
        Spacer(1, 8 * mm),
        _lines_table(quote, places, styles["BodyText"]),
    ]
    if quote.terms:
        story += [
            Spacer(1, 8 * mm),
            Paragraph(f"<b>{_text(_('Terms'))}</b>", styles["Normal"]),
            Paragraph(_text(quote.terms).replace("\n", "<br/>"), styles["Normal"]),
        ]
    document.build(story)
    return buffer.getvalue()
