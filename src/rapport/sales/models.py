"""Sales: products and their stock, price books, currencies and exchange rates.

Currencies and exchange rates are workspace settings that admins keep; every
rate is the price of one unit of a currency in the base currency
(``settings.BASE_CURRENCY``), valid from a day until the next rate of that
currency. A product is a CRM record (owner, team, audit, trash, custom fields);
its unit price in a currency is its entry in that currency's default price
book.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core.models import AuthoredModel, Record, TimestampedModel

# ISO 4217 gives at most four decimal places (CLF, UYW).
MAX_DECIMAL_PLACES = 4
# Unit prices may be finer than a currency's minor unit (0.0035 per message); totals
# are rounded to the currency when computed.
PRICE_DIGITS = 18
PRICE_DECIMALS = 4
RATE_DIGITS = 20
RATE_DECIMALS = 10
SMALLEST_RATE = Decimal(1).scaleb(-RATE_DECIMALS)
TAX_DECIMALS = 3
TAX_RATE_MAX = Decimal(100)
DUPLICATE_SKU = "duplicate_sku"
TAKEN_SKU_MESSAGE = _("A live product already has this SKU.")

currency_code_validator = RegexValidator(
    r"^[A-Z]{3}\Z", _("Enter a three-letter ISO 4217 code in capitals, such as EUR.")
)


class Currency(TimestampedModel):
    """A currency the workspace may price and sell in, by its ISO 4217 code.

    Currencies are never deleted, since rates, price books and (later) quotes
    and orders keep naming them; one no longer used is made inactive."""

    code = models.CharField(
        _("code"), max_length=3, primary_key=True, validators=[currency_code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    decimal_places = models.PositiveSmallIntegerField(
        _("decimal places"),
        default=2,
        validators=[MaxValueValidator(MAX_DECIMAL_PLACES)],
        help_text=_("Digits after the decimal point of an amount: 2 for cents, 0 for yen."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class ExchangeRate(TimestampedModel, AuthoredModel):
    """What one unit of ``currency`` is worth in the base currency from ``valid_from``
    on, until that currency's next rate."""

    id = models.BigAutoField(primary_key=True)
    currency = models.ForeignKey(
        Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="rates"
    )
    rate = models.DecimalField(
        _("rate"),
        max_digits=RATE_DIGITS,
        decimal_places=RATE_DECIMALS,
        validators=[MinValueValidator(SMALLEST_RATE)],
        help_text=_("The value of one unit of the currency in the base currency."),
    )
    valid_from = models.DateField(_("valid from"))

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            # Also the index of "the latest rate on or before a day".
            models.UniqueConstraint(
                fields=["currency", "valid_from"], name="exchangerate_one_per_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")

    def __str__(self) -> str:
        return f"{self.currency_id} {self.rate.normalize():f} ({self.valid_from.isoformat()})"


class Product(Record):
    """Something the company sells. ``stock_on_hand`` and ``reserved_quantity`` change
    only through stock services (an adjustment with a reason now, orders later), never
    through the product's form or API update."""

    sku = models.CharField(
        _("SKU"), max_length=64, help_text=_("Stock keeping unit: unique among live products.")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=6,
        decimal_places=TAX_DECIMALS,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(TAX_RATE_MAX)],
        help_text=_("Percent, from 0 to 100."),
    )
    active = models.BooleanField(_("active"), default=True)
    stock_on_hand = models.PositiveIntegerField(_("stock on hand"), default=0)
    reserved_quantity = models.PositiveIntegerField(_("reserved"), default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Upper("sku"),
                condition=Q(deleted_at__isnull=True),
                name="product_live_sku",
                violation_error_code=DUPLICATE_SKU,
                violation_error_message=TAKEN_SKU_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=TAX_RATE_MAX),
                name="product_tax_rate_percent",
            ),
        ]
        indexes = [
            # The product list: live products by name.
            models.Index(
                fields=["name", "id"],
                condition=Q(deleted_at__isnull=True),
                name="product_live_name_idx",
            ),
        ]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("sales:product_detail", kwargs={"pk": self.pk})

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """As Django's, with a taken SKU reported on the ``sku`` field (a conditional
        constraint's error is otherwise the whole record's)."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = dict(error.error_dict)
            general = errors.pop(NON_FIELD_ERRORS, [])
            taken = [item for item in general if item.code == DUPLICATE_SKU]
            others = [item for item in general if item.code != DUPLICATE_SKU]
            if others:
                errors[NON_FIELD_ERRORS] = others
            if taken:
                errors["sku"] = [*errors.get("sku", []), *taken]
            raise ValidationError(errors) from None

    @property
    def available_quantity(self) -> int:
        """On hand and not reserved: what a new order may still take (negative when
        reservations were backordered)."""
        return self.stock_on_hand - self.reserved_quantity


class PriceBook(TimestampedModel, AuthoredModel):
    """A list of unit prices in one currency. The default book of a currency gives the
    products' prices in it; other books (wholesale, partner) are picked explicitly."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.ForeignKey(
        Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="price_books"
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default for its currency"),
        default=False,
        help_text=_("Its prices are the products' prices in this currency."),
    )

    class Meta:
        ordering = ["currency", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"], condition=Q(is_default=True), name="pricebook_one_default"
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(active=True), name="pricebook_default_active"
            ),
        ]
        verbose_name = _("price book")
        verbose_name_plural = _("price books")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:price_book_detail", kwargs={"pk": self.pk})


class PriceBookEntry(TimestampedModel):
    """A product's unit price in one price book (in the book's currency)."""

    id = models.BigAutoField(primary_key=True)
    price_book = models.ForeignKey(
        PriceBook, verbose_name=_("price book"), on_delete=models.CASCADE, related_name="entries"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="price_entries"
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        ordering = ["price_book", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_book", "product"], name="pricebookentry_one_per_product"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="pricebookentry_price_not_negative"
            ),
        ]
        # A product's prices across books (its page, the products list and API).
        indexes = [
            models.Index(fields=["product", "price_book"], name="pricebookentry_product_idx")
        ]
        verbose_name = _("price book entry")
        verbose_name_plural = _("price book entries")

    def __str__(self) -> str:
        return f"{self.product} · {self.price_book}"
