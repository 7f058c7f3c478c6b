"""Companies, contacts, their channels and addresses, tags and static lists.

A contact's primary email and phone are kept on the contact row itself
(``email``, ``phone``) as well as among its ``emails``/``phones``, so lists,
sorting and search read one table; the services keep both in step.
Phones are stored in E.164 (``+4930123456``), emails lower-cased.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import AuthoredModel, OwnedModel, Record, TimestampedModel

LIVE = Q(deleted_at__isnull=True)


def engagement_indexes(prefix: str) -> list[models.Index]:
    """Indexes of the dates the activities app keeps, over the records that have one: for
    their date-range filters and for finding the records whose next activity has begun."""
    return [
        models.Index(
            fields=[name],
            condition=Q(**{f"{name}__isnull": False}),
            name=f"{prefix}_{name.removesuffix('_at')}_idx",
        )
        for name in ("last_contacted_at", "next_activity_at")
    ]


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    QUALIFIED = "qualified", _("Qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    CHURNED = "churned", _("Churned")
    OTHER = "other", _("Other")


class ValueTier(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    KEY = "key", _("Key")
    STANDARD = "standard", _("Standard")
    SMALL = "small", _("Small")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MAIL = "mail", _("Post")


class ContactSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    WEB = "web", _("Website form")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    CAMPAIGN = "campaign", _("Campaign")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    OTHER = "other", _("Other")


class Tag(TimestampedModel):
    """A coloured label admins manage and anyone applies to companies and contacts."""

    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Company(Record):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    value_tier = models.CharField(
        _("value tier"), max_length=20, choices=ValueTier.choices, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="companies")
    # Kept by the activities app from the record's timeline (activities.engagement).
    last_contacted_at = models.DateTimeField(
        _("last contacted"), null=True, blank=True, editable=False
    )
    next_activity_at = models.DateTimeField(
        _("next activity"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], condition=LIVE, name="company_name_idx"),
            models.Index(fields=["domain"], condition=LIVE, name="company_domain_idx"),
            models.Index(fields=["-created_at", "-id"], condition=LIVE, name="company_created_idx"),
            models.Index(fields=["-updated_at", "-id"], condition=LIVE, name="company_updated_idx"),
            models.Index(fields=["owner", "name", "id"], condition=LIVE, name="company_owner_idx"),
            models.Index(fields=["team", "name", "id"], condition=LIVE, name="company_team_idx"),
            models.Index(
                fields=["lifecycle_stage", "name", "id"], condition=LIVE, name="company_stage_idx"
            ),
            *engagement_indexes("company"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("contacts:company_detail", args=[self.pk])


CONTACT_LABEL_FIELDS = (
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "email",
    "phone",
    "pk",
)


def contact_label(*values: Any) -> str:
    """What a contact is called, from its ``CONTACT_LABEL_FIELDS``: its full name, else its
    email or phone. Exports build it from plain values, without the row."""
    *names, email, phone, pk = values
    full_name = " ".join(part for part in names if part)
    return full_name or email or phone or _("Contact %(id)s") % {"id": pk}


class Contact(Record):
    prefix = models.CharField(_("prefix"), max_length=20, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    suffix = models.CharField(_("suffix"), max_length=20, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=20, choices=Channel.choices, blank=True
    )
    product_interests = models.JSONField(
        _("product categories of interest"), default=list, blank=True
    )
    brand_interests = models.JSONField(_("brands of interest"), default=list, blank=True)
    do_not_email = models.BooleanField(_("do not email"), default=False)
    do_not_call = models.BooleanField(_("do not call"), default=False)
    do_not_sms = models.BooleanField(_("do not text"), default=False)
    do_not_mail = models.BooleanField(_("do not send post"), default=False)
    source = models.CharField(
        _("source"), max_length=20, choices=ContactSource.choices, default=ContactSource.MANUAL
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="contacts")
    # Kept by the activities app from the record's timeline (activities.engagement).
    last_contacted_at = models.DateTimeField(
        _("last contacted"), null=True, blank=True, editable=False
    )
    next_activity_at = models.DateTimeField(
        _("next activity"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(
                fields=["last_name", "first_name", "id"], condition=LIVE, name="contact_name_idx"
            ),
            models.Index(fields=["first_name", "id"], condition=LIVE, name="contact_first_idx"),
            models.Index(fields=["email", "id"], condition=LIVE, name="contact_email_idx"),
            models.Index(fields=["phone"], condition=LIVE, name="contact_phone_idx"),
            models.Index(fields=["company", "id"], condition=LIVE, name="contact_company_idx"),
            models.Index(fields=["-created_at", "-id"], condition=LIVE, name="contact_created_idx"),
            models.Index(fields=["-updated_at", "-id"], condition=LIVE, name="contact_updated_idx"),
            models.Index(fields=["owner", "-id"], condition=LIVE, name="contact_owner_idx"),
            models.Index(fields=["team", "-id"], condition=LIVE, name="contact_team_idx"),
            models.Index(
                fields=["lifecycle_stage", "-id"], condition=LIVE, name="contact_stage_idx"
            ),
            *engagement_indexes("contact"),
        ]

    def __str__(self) -> str:
        return contact_label(*(getattr(self, name) for name in CONTACT_LABEL_FIELDS))

    @property
    def full_name(self) -> str:
        parts = (self.prefix, self.first_name, self.middle_name, self.last_name, self.suffix)
        return " ".join(part for part in parts if part)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("contacts:contact_detail", args=[self.pk])


def _one_party() -> Q:
    """Exactly one of contact and company is set."""
    return Q(contact__isnull=False, company__isnull=True) | Q(
        contact__isnull=True, company__isnull=False
    )


class EmailKind(models.TextChoices):
    WORK = "work", _("Work")
    PERSONAL = "personal", _("Personal")
    OTHER = "other", _("Other")


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(_("email"), max_length=254)
    kind = models.CharField(
        _("kind"), max_length=20, choices=EmailKind.choices, default=EmailKind.WORK
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["email"], name="contactemail_email_idx")]
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="contactemail_unique"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="contactemail_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class PhoneKind(models.TextChoices):
    WORK = "work", _("Work")
    MOBILE = "mobile", _("Mobile")
    HOME = "home", _("Home")
    FAX = "fax", _("Fax")
    OTHER = "other", _("Other")


class Phone(models.Model):
    """A phone number of a contact or a company, in E.164."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number"), max_length=20)
    kind = models.CharField(
        _("kind"), max_length=20, choices=PhoneKind.choices, default=PhoneKind.WORK
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["number"], name="phone_number_idx")]
        constraints = [
            models.CheckConstraint(condition=_one_party(), name="phone_one_party"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="phone_one_primary_contact"
            ),
            models.UniqueConstraint(
                fields=["company"], condition=Q(is_primary=True), name="phone_one_primary_company"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class AddressKind(models.TextChoices):
    OFFICE = "office", _("Office")
    BILLING = "billing", _("Billing")
    SHIPPING = "shipping", _("Shipping")
    HOME = "home", _("Home")
    OTHER = "other", _("Other")


class Address(models.Model):
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=AddressKind.choices, default=AddressKind.OFFICE
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))

    class Meta:
        verbose_name_plural = _("addresses")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=_one_party(), name="address_one_party")]

    def __str__(self) -> str:
        return ", ".join(
            part for part in (self.street, self.postal_code, self.city, self.country) if part
        )


class SocialNetwork(models.TextChoices):
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    GITHUB = "github", "GitHub"
    OTHER = "other", _("Other")


class SocialProfile(models.Model):
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="social_profiles"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="social_profiles"
    )
    network = models.CharField(_("network"), max_length=20, choices=SocialNetwork.choices)
    url = models.URLField(_("profile address"), max_length=300)

    class Meta:
        ordering = ["network", "id"]
        constraints = [models.CheckConstraint(condition=_one_party(), name="social_one_party")]

    def __str__(self) -> str:
        return self.url


class Employment(models.Model):
    """A contact's position at a company, current or past: the contact's work history."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="employments")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="employments")
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    started_on = models.DateField(_("from"), null=True, blank=True)
    ended_on = models.DateField(_("until"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=True)

    class Meta:
        ordering = ["-is_current", "-started_on", "-id"]
        indexes = [models.Index(fields=["company", "contact"], name="employment_company_idx")]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.company}"


class StaticList(TimestampedModel, AuthoredModel, OwnedModel):
    """A hand-picked list of contacts (event invitees, a newsletter audience…)."""

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    members = models.ManyToManyField(
        Contact, through="ListMembership", related_name="lists", blank=True
    )

    class Meta:
        verbose_name = _("list")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    static_list = models.ForeignKey(
        StaticList, on_delete=models.CASCADE, related_name="memberships"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["static_list", "contact"], name="list_member_unique")
        ]
        indexes = [models.Index(fields=["contact"], name="list_member_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.static_list_id}"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not a duplicate")
    MERGED = "merged", _("Merged")


class DuplicateType(models.TextChoices):
    """The object types the duplicate scan compares, by the label roles use."""

    CONTACT = "contacts.contact", _("Contacts")
    COMPANY = "contacts.company", _("Companies")


class DuplicateReason(models.TextChoices):
    """Why the scan holds two records for the same one; stored as codes, shown translated."""

    SAME_EMAIL = "same_email", _("Same email address")
    SAME_PHONE = "same_phone", _("Same phone number")
    SAME_DOMAIN = "same_domain", _("Same domain")
    SAME_NAME = "same_name", _("Same name")
    SIMILAR_NAME = "similar_name", _("Similar name")
    DIFFERENT_NAME = "different_name", _("Different names")
    SAME_COMPANY = "same_company", _("Same company")
    SAME_CITY = "same_city", _("Same city")


class DuplicateCandidateQuerySet(models.QuerySet):
    def pair(self, object_type: str, first_id: int, second_id: int) -> DuplicateCandidateQuerySet:
        """The candidate of these two records, in whichever order they are named."""
        low, high = sorted((first_id, second_id))
        return self.filter(object_type=object_type, low_id=low, high_id=high)


class DuplicateCandidate(models.Model):
    """Two records of one type that the duplicate scan (``contacts.dedupe``) found alike,
    waiting for someone to merge them or say they differ.

    The records are named by id, not by foreign key, so a merge (which re-points every
    foreign key at the loser to the winner) leaves the pair as it was. A pair whose
    record is in the trash is simply not listed; a dismissed pair stays dismissed
    through later scans."""

    object_type = models.CharField(_("type"), max_length=30, choices=DuplicateType.choices)
    low_id = models.BigIntegerField(_("first record"))
    high_id = models.BigIntegerField(_("second record"))
    confidence = models.PositiveSmallIntegerField(_("confidence"))
    # DuplicateReason codes, strongest first.
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = DuplicateCandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("duplicate candidate")
        ordering = ["-confidence", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "low_id", "high_id"], name="duplicate_unique_pair"
            ),
            models.CheckConstraint(condition=Q(low_id__lt=F("high_id")), name="duplicate_ordered"),
            models.CheckConstraint(condition=Q(confidence__lte=100), name="duplicate_confidence"),
        ]
        indexes = [
            models.Index(
                fields=["object_type", "status", "confidence", "id"], name="duplicate_queue_idx"
            ),
            models.Index(fields=["object_type", "high_id"], name="duplicate_high_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.low_id} ~ {self.high_id} ({self.confidence})"
