"""Sales: products and their stock, price books, currencies and exchange rates;
pipelines, their stages and the deals that move through them.

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

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
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
LINE_QUANTITY_MAX = 1_000_000

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

    computed_fields = ("stock_on_hand", "reserved_quantity")

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


# Pipelines and deals

PERCENT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Pipeline(TimestampedModel, AuthoredModel):
    """An ordered set of stages a deal moves through. Admins keep pipelines; a deal's
    pipeline is where it is sold (new business, renewals, partners…)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("New deals start here unless told otherwise.")
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"
            )
        ]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:board", kwargs={"pk": self.pk})


class Stage(TimestampedModel):
    """A step of a pipeline, with the chance that a deal there is won. A pipeline has
    open stages in order, and one won and one lost stage that close a deal."""

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=StageKind.choices)
    probability = models.PositiveSmallIntegerField(
        _("win probability"),
        validators=PERCENT_VALIDATORS,
        help_text=_("Percent: a new deal in this stage gets it unless someone sets its own."),
    )

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.UniqueConstraint(
                fields=["pipeline", "kind"],
                condition=~Q(kind="open"),
                name="stage_one_won_one_lost",
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="stage_probability_percent",
            ),
        ]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class LostReason(TimestampedModel):
    """Why deals are lost: a short list admins keep, so losses can be counted by reason."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.name


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    OMITTED = "omitted", _("Omitted")


class Deal(Record):
    """A sale in progress or closed. ``status`` follows the stage (open, won, lost);
    ``amount_base`` is ``amount`` in the base currency at the rate of the day it was
    last written (of the close day once closed), so reports sum one column."""

    # A role's rule hiding the amount hides what is derived from it too.
    field_rule_companions = {"amount": ("amount_base",)}
    computed_fields = ("amount_base", "status", "probability_is_set", "closed_at")

    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN
    )
    company = models.ForeignKey(
        "contacts.Company",
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.ForeignKey(
        Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    amount_base = models.DecimalField(
        _("amount in base currency"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        default=Decimal(0),
        editable=False,
    )
    # Required, as forecasts place every open deal in a period by it.
    expected_close_date = models.DateField(_("expected close date"))
    probability = models.PositiveSmallIntegerField(
        _("probability"), validators=PERCENT_VALIDATORS, help_text=_("Percent.")
    )
    probability_is_set = models.BooleanField(
        _("probability set by hand"),
        default=False,
        help_text=_("When false, the probability follows the stage's default."),
    )
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=20, blank=True)
    description = models.TextField(_("description"), blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    lost_reason = models.ForeignKey(
        LostReason,
        verbose_name=_("lost reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
    )
    lost_note = models.CharField(_("lost note"), max_length=300, blank=True)
    # The furthest stage the deal reached in its pipeline (won counts as the end; lost
    # keeps the last open stage reached): stage-to-stage conversion reads it.
    furthest_stage = models.ForeignKey(
        Stage, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )
    # Kept when the deal closes, so metrics average sales cycles without date arithmetic.
    days_to_close = models.PositiveIntegerField(
        _("days to close"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="deal_probability_percent",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
        ]
        indexes = [
            # The kanban board: a stage's cards, soonest to close first, and its totals.
            models.Index(
                fields=["stage", "expected_close_date", "id"],
                condition=Q(deleted_at__isnull=True),
                name="deal_board_idx",
            ),
            # The deal list and its default sort.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="deal_live_created_idx",
            ),
            # The board's column totals and its won/lost of the month: every column the
            # sums and the permission filters read is in the index, so they never read
            # the table (a stage of a large pipeline holds hundreds of thousands of deals).
            models.Index(
                fields=["stage", "closed_at", "owner", "team", "probability", "amount_base"],
                condition=Q(deleted_at__isnull=True),
                name="deal_stage_totals_idx",
            ),
            # Forecasts and metrics: closed deals by day, open deals by close date, again
            # with what they sum and filter on.
            models.Index(
                fields=["status", "closed_at", "owner", "team", "amount_base", "days_to_close"],
                condition=Q(deleted_at__isnull=True),
                name="deal_closed_totals_idx",
            ),
            models.Index(
                fields=[
                    "status",
                    "expected_close_date",
                    "forecast_category",
                    "owner",
                    "team",
                    "probability",
                    "amount_base",
                ],
                condition=Q(deleted_at__isnull=True),
                name="deal_open_totals_idx",
            ),
            models.Index(fields=["owner", "status"], name="deal_owner_status_idx"),
            # Stage-to-stage conversion of the deals opened in a period.
            models.Index(
                fields=["pipeline", "created_at", "furthest_stage", "owner", "team"],
                condition=Q(deleted_at__isnull=True),
                name="deal_conversion_idx",
            ),
        ]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:deal_detail", kwargs={"pk": self.pk})

    @property
    def weighted_amount(self) -> Decimal:
        return self.amount * self.probability / 100


class DealRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    CHAMPION = "champion", _("Champion")
    INFLUENCER = "influencer", _("Influencer")
    EVALUATOR = "evaluator", _("Evaluator")
    USER = "user", _("User")
    OTHER = "other", _("Other")


class DealContact(models.Model):
    """A person involved in a deal, and their part in it."""

    id = models.BigAutoField(primary_key=True)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="participants")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="deal_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=DealRole.choices, blank=True)

    class Meta:
        ordering = ["deal", "id"]
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="dealcontact_once")]
        indexes = [models.Index(fields=["contact", "deal"], name="dealcontact_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact} · {self.get_role_display() or '-'}"


class DealStageChange(models.Model):
    """A deal entering a stage: the first row when it is created, one per move after.
    The time spent in a stage runs from its row to the deal's next one."""

    id = models.BigAutoField(primary_key=True)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="entries")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["deal", "at", "id"]
        indexes = [
            models.Index(fields=["deal", "at", "id"], name="dealstagechange_deal_idx"),
            # Stage-to-stage conversion: entries of a stage in a period.
            models.Index(fields=["to_stage", "at"], name="dealstagechange_stage_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class DealStageTotal(models.Model):
    """The open deals of one stage, owner and team counted and summed, kept by every
    write of a deal (``sales.board_totals``), so the board's column totals read a few
    rows instead of every deal of the pipeline. Owner and team are plain ids, 0 for
    none, so a row's key never holds a NULL and a removed user leaves the sums intact."""

    id = models.BigAutoField(primary_key=True)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    owner_id = models.BigIntegerField(default=0)
    team_id = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=28, decimal_places=PRICE_DECIMALS, default=0)
    # Each deal's amount times its probability / 100, kept exact.
    weighted = models.DecimalField(max_digits=30, decimal_places=PRICE_DECIMALS + 2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "owner_id", "team_id"], name="dealstagetotal_one_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage_id}/{self.owner_id}/{self.team_id}: {self.count}"


class PricedItem(models.Model):
    """A product (or a free-text item) at a price, with discount and tax: what a deal's
    line items and the lines of quotes and orders have in common."""

    id = models.BigAutoField(primary_key=True)
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("item"), max_length=200)
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(LINE_QUANTITY_MAX)],
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        validators=[MinValueValidator(Decimal(0))],
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=6,
        decimal_places=TAX_DECIMALS,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(TAX_RATE_MAX)],
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DealLineItem(PricedItem):
    """A line item of a deal. Totals are computed by ``sales.pricing``; the deal's amount
    is the items' net total while it has items."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")

    class Meta:
        ordering = ["deal", "position", "id"]

    def __str__(self) -> str:
        return self.name


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class Quota(TimestampedModel, AuthoredModel):
    """What a user is expected to sell (closed won, in the base currency) in a month or a
    quarter. A quarter without a quota of its own sums its months' quotas."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="quotas",
    )
    period = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    amount = models.DecimalField(
        _("amount"),
        max_digits=PRICE_DIGITS,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        ordering = ["period_start", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period", "period_start"], name="quota_one_per_period"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_not_negative"),
        ]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")

    def __str__(self) -> str:
        return f"{self.user} · {self.period_start.isoformat()}"


# Orders and quotes: numbering and priced lines

NUMBER_MAX_LENGTH = 20


class NumberSequence(models.Model):
    """The last number handed out for one kind of document (orders, quotes). A number is
    taken by incrementing the row inside the writing transaction, so concurrent writers
    queue on its row lock and never share one; a rolled-back write leaves a gap."""

    name = models.CharField(max_length=20, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"


class PricedLine(PricedItem):
    """A product (or a free-text item) at a price, with discount and tax, and its totals
    as ``sales.pricing`` computed them in the document's currency when it was written."""

    net_amount = models.DecimalField(
        _("net"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    tax_amount = models.DecimalField(
        _("tax"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    total_amount = models.DecimalField(
        _("total"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class PricedDocument(Record):
    """What orders and quotes share: a number, the customer, a currency and the totals of
    their lines (``total_base``: the total in the base currency on the document's day)."""

    # Set by the services from the lines and transitions: a role's rules may hide them,
    # and no rule stops the services keeping them up to date.
    computed_fields = (
        "subtotal",
        "discount_total",
        "net_total",
        "tax_total",
        "total",
        "total_base",
        "status_changed_at",
    )

    number = models.CharField(_("number"), max_length=NUMBER_MAX_LENGTH, unique=True)
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    company = models.ForeignKey(
        "contacts.Company",
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deal = models.ForeignKey(
        Deal,
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    currency = models.ForeignKey(
        Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    subtotal = models.DecimalField(
        _("subtotal"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    discount_total = models.DecimalField(
        _("discount"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    net_total = models.DecimalField(
        _("net"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    tax_total = models.DecimalField(
        _("tax"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    total = models.DecimalField(
        _("total"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS, default=Decimal(0)
    )
    total_base = models.DecimalField(
        _("total in base currency"),
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMALS,
        default=Decimal(0),
        editable=False,
    )
    notes = models.TextField(_("notes"), blank=True)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number


# Orders


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    FULFILLED = "fulfilled", _("Fulfilled")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


# Orders whose goods the customer has: what lifetime value adds up.
SOLD_STATUSES = (OrderStatus.FULFILLED, OrderStatus.DELIVERED)


class Order(PricedDocument):
    """A sale to a contact and/or company. Confirming reserves the products' stock,
    fulfilling ships it (stock on hand goes down), cancelling releases the reservation
    and a return puts shipped stock back (``sales.orders``).

    The service requires a contact or a company; the database does not, so that purging
    a customer keeps its orders (their customer then empty) rather than failing."""

    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    order_date = models.DateField(_("order date"), default=timezone.localdate)
    allow_backorder = models.BooleanField(
        _("allow backorder"),
        default=False,
        help_text=_("Confirm even when stock is short: the order waits for stock to ship."),
    )
    quote = models.ForeignKey(
        "sales.Quote",
        verbose_name=_("quote"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="order_status_idx"),
            # Purchase history and lifetime value of a contact or a company.
            models.Index(fields=["contact", "-order_date"], name="order_contact_idx"),
            models.Index(fields=["company", "-order_date"], name="order_company_idx"),
            models.Index(fields=["deal"], name="order_deal_idx"),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def get_absolute_url(self) -> str:
        return reverse("sales:order_detail", kwargs={"pk": self.pk})


class OrderLine(PricedLine):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        ordering = ["order", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive")
        ]
        indexes = [models.Index(fields=["product", "order"], name="orderline_product_idx")]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` of a create request and the answer it got, so the
    same request sent again (a retry after a lost answer) gets that answer instead of
    creating a second record. Unique per user and key: of two racing requests, the
    second waits on the first's row and then replays its answer."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(default=dict)
    location = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_once_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotencykey_created_idx")]

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.key}"


# Quotes


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class Quote(PricedDocument):
    """An offer made from a deal, sent to its contact, who accepts or declines it on a
    public page reached through a secret link (only the link's SHA-256 digest is kept).
    Acceptance creates an order (``sales.quotes``)."""

    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    quote_date = models.DateField(_("quote date"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"))
    confirm_order_on_accept = models.BooleanField(
        _("confirm the order on acceptance"),
        default=False,
        help_text=_("The order made when the customer accepts is confirmed (stock reserved)."),
    )
    win_deal_on_accept = models.BooleanField(_("mark the deal won on acceptance"), default=True)
    terms = models.TextField(_("terms"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True, editable=False)
    public_token_digest = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["public_token_digest"],
                condition=~Q(public_token_digest=""),
                name="quote_public_token_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="quote_status_idx"),
            models.Index(fields=["deal", "-id"], name="quote_deal_idx"),
        ]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")

    def get_absolute_url(self) -> str:
        return reverse("sales:quote_detail", kwargs={"pk": self.pk})

    @property
    def is_expired(self) -> bool:
        return self.valid_until < timezone.localdate()


class QuoteLine(PricedLine):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        ordering = ["quote", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="quoteline_quantity_positive")
        ]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")


# Leads


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    CONVERTED = "converted", _("Converted")


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    MANUAL = "manual", _("Entered by hand")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    ADVERTISING = "advertising", _("Advertising")
    COLD_CALL = "cold_call", _("Cold call")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Lead(Record):
    """Someone who may become a customer, not yet qualified: a person and the company
    they named, kept apart from contacts until converted (``sales.leads.lead_convert``).

    ``score`` and ``score_explanation`` are derived by ``sales.scoring`` from the
    scoring rules and kept up to date; ``routing_rule`` names the rule that chose the
    owner when the lead was created without one."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, such as DE.")
    )
    source = models.CharField(
        _("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL
    )
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    disqualification_reason = models.CharField(
        _("disqualification reason"), max_length=300, blank=True
    )
    score = models.IntegerField(_("score"), default=0, editable=False)
    score_explanation = models.JSONField(
        _("score explanation"), default=list, blank=True, editable=False
    )
    routing_rule = models.ForeignKey(
        "sales.RoutingRule",
        verbose_name=_("routed by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_contacted_at = models.DateTimeField(
        _("last contacted"), null=True, blank=True, editable=False
    )
    next_activity_at = models.DateTimeField(
        _("next activity"), null=True, blank=True, editable=False
    )
    converted_contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("converted to contact"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_company = models.ForeignKey(
        "contacts.Company",
        verbose_name=_("converted to company"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_deal = models.ForeignKey(
        Deal,
        verbose_name=_("converted to deal"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The lead list and its default sort.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="lead_live_created_idx",
            ),
            # "Is there already a live lead with this address?" on every form submission.
            models.Index(
                fields=["email", "id"], condition=Q(deleted_at__isnull=True), name="lead_email_idx"
            ),
            models.Index(fields=["status", "-score", "id"], name="lead_status_score_idx"),
            models.Index(fields=["owner", "status"], name="lead_owner_status_idx"),
        ]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return (
            self.full_name
            or self.email
            or self.company_name
            or self.phone
            or _("Lead %(id)s") % {"id": self.pk}
        )

    def get_absolute_url(self) -> str:
        return reverse("sales:lead_detail", kwargs={"pk": self.pk})

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_converted(self) -> bool:
        return self.status == LeadStatus.CONVERTED

    def clean(self) -> None:
        if not (self.full_name or self.email or self.phone or self.company_name):
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("Give the lead a name, an email, a phone or a company.")]}
            )
        if self.status == LeadStatus.UNQUALIFIED and not self.disqualification_reason.strip():
            raise ValidationError(
                {"disqualification_reason": [_("Say why the lead is not qualified.")]}
            )


class WebForm(TimestampedModel, AuthoredModel):
    """A form admins design for a website: its answers become leads.

    The public page is ``/f/<public_key>/`` (embeddable in an iframe); the same form
    takes JSON at ``/api/v1/web-forms/<public_key>/submissions``. Leads it creates go
    to ``owner``/``team`` when set, else through the routing rules, else to the form's
    creator."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    public_key = models.CharField(_("public key"), max_length=32, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    submit_label = models.CharField(_("button label"), max_length=50, blank=True)
    consent_text = models.TextField(
        _("consent text"),
        blank=True,
        help_text=_("When set, the form shows a checkbox with this text."),
    )
    consent_required = models.BooleanField(
        _("consent required"),
        default=False,
        help_text=_("The form is refused unless the consent box is ticked."),
    )
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.URLField(
        _("redirect to"),
        max_length=500,
        blank=True,
        help_text=_("After a successful submission, send the visitor to this page instead."),
    )
    source = models.CharField(
        _("lead source"), max_length=20, choices=LeadSource.choices, default=LeadSource.WEB_FORM
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assign to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rate_limit = models.PositiveSmallIntegerField(
        _("submissions per minute per address"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:webform_edit", kwargs={"pk": self.pk})

    def clean(self) -> None:
        if self.consent_required and not self.consent_text.strip():
            raise ValidationError({"consent_text": [_("Write the text the visitor agrees to.")]})


class WebFormField(models.Model):
    """One input of a web form, filling a lead field (``email``) or a lead custom field
    (``custom.<key>``)."""

    id = models.BigAutoField(primary_key=True)
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="fields")
    target = models.CharField(_("lead field"), max_length=70)
    label = models.CharField(_("label"), max_length=200)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["form", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "target"], name="webformfield_once")]

    def __str__(self) -> str:
        return self.label

    @property
    def input_name(self) -> str:
        """The name of the input on the page and the key in JSON."""
        return self.target.replace(".", "_")


class WebFormSubmission(models.Model):
    """One accepted answer to a web form, as sent, with the consent shown and given."""

    id = models.BigAutoField(primary_key=True)
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    created_lead = models.BooleanField(default=False)
    data = models.JSONField(default=dict)
    consent_given = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    page_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-id"], name="webformsub_lead_idx"),
            models.Index(fields=["form", "-id"], name="webformsub_form_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.form} #{self.pk}"


class RuleOperator(models.TextChoices):
    EQUALS = "equals", _("equals")
    CONTAINS = "contains", _("contains")
    IS_SET = "is_set", _("is set")
    IS_NOT_SET = "is_not_set", _("is not set")


class Engagement(models.TextChoices):
    ACTIVITY = "activity", _("Each activity logged")
    EMAIL_REPLY = "email_reply", _("Each email received from the lead")
    MEETING = "meeting", _("Each meeting")
    FORM_SUBMISSION = "form_submission", _("Each web form submission")


class ScoringRule(TimestampedModel, AuthoredModel):
    """Points a lead earns: once for an attribute (``field`` ``operator`` ``value``), or
    for each engagement of a kind, up to ``max_times`` when set."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    field = models.CharField(_("lead field"), max_length=70, blank=True)
    operator = models.CharField(
        _("condition"), max_length=20, choices=RuleOperator.choices, blank=True
    )
    value = models.CharField(_("value"), max_length=200, blank=True)
    engagement = models.CharField(
        _("engagement"), max_length=20, choices=Engagement.choices, blank=True
    )
    max_times = models.PositiveIntegerField(_("at most (times)"), null=True, blank=True)
    points = models.IntegerField(
        _("points"), validators=[MinValueValidator(-1000), MaxValueValidator(1000)]
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return self.name


class RoutingRule(TimestampedModel, AuthoredModel):
    """Who gets a new lead that came without an owner: the first active rule (by
    ``position``) whose conditions all hold gives it to ``user``, to the next member of
    ``team`` in turn (``round_robin``), or to ``team``. Conditions left empty hold for
    every lead."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    countries = models.JSONField(
        _("countries"), default=list, blank=True, help_text=_("ISO 3166 codes.")
    )
    field = models.CharField(_("lead field"), max_length=70, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assign to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    round_robin = models.BooleanField(
        _("round robin"), default=False, help_text=_("Each lead to the team's next member.")
    )
    # The member who got the rule's last lead: the round robin goes on after them.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name
