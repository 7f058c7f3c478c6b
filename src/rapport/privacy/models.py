"""Privacy: the consent ledger, erasure records and retention policies.

The consent ledger (``ConsentEvent``) is append-only: a row is never changed or
deleted, except that erasing a person blanks the proof text of their events
(``ConsentEventQuerySet.erase_proof``). ``ConsentState`` is derived from it: one
row per contact and purpose holding the latest event, kept by
``privacy.consent.record_consent`` in the same transaction, so "everyone who
agreed to purpose X" is an indexed query rather than a scan of the ledger.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    EMAIL_MARKETING = "email_marketing", _("Email marketing")
    PHONE = "phone", _("Phone calls")
    SMS = "sms", _("Text messages")
    PROFILING = "profiling", _("Profiling")


class ConsentMethod(models.TextChoices):
    """How a consent was given or withdrawn."""

    FORM = "form", _("Web form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    USER = "user", _("Recorded by a user")


class AppendOnlyError(Exception):
    """A consent event cannot be changed or deleted: record a new one instead."""


class ConsentEventQuerySet(models.QuerySet["ConsentEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("consent events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent events are append-only")

    def erase_proof(self) -> int:
        """Blank the proof text of these events: the one change erasure makes."""
        return super().update(proof="", source_ref="")


class ConsentEvent(models.Model):
    """One consent given or withdrawn by a contact for one purpose. Never changed."""

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="consent_events"
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    method = models.CharField(_("how"), max_length=20, choices=ConsentMethod.choices)
    proof = models.TextField(_("proof"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_ref = models.CharField(_("source reference"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent event")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact", "purpose", "-at", "-id"], name="consent_ledger_idx")
        ]
        constraints = [
            # A source (a web form submission) grants once however often it is replayed.
            models.UniqueConstraint(
                fields=["contact", "purpose", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="consent_once_per_source",
            )
        ]

    def __str__(self) -> str:
        verb = _("granted") if self.granted else _("withdrawn")
        return f"{self.get_purpose_display()}: {verb}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("consent events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent events are append-only")


class ConsentState(models.Model):
    """A contact's current consent for one purpose: the ledger's latest event."""

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="consent_states"
    )
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    granted = models.BooleanField()
    at = models.DateTimeField()
    event = models.ForeignKey(ConsentEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["purpose"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "purpose"], name="consent_state_unique")
        ]
        indexes = [
            # "Every contact who agreed to purpose X", for sends to large audiences.
            models.Index(
                fields=["purpose", "contact"],
                condition=models.Q(granted=True),
                name="consent_granted_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.purpose}: {self.granted}"


class ErasureRecord(models.Model):
    """That a person's data was erased, by whom and when; holds no personal data."""

    id = models.BigAutoField(primary_key=True)
    object_type = models.CharField(max_length=100, default="contacts.contact")
    object_id = models.BigIntegerField()
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_by_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"


class RetentionAction(models.TextChoices):
    DELETE = "delete", _("Delete")
    ANONYMISE = "anonymise", _("Anonymise")


class RetentionPolicy(models.Model):
    """Delete or anonymise records of one type untouched for ``days`` days."""

    name = models.CharField(_("name"), max_length=100)
    object_type = models.CharField(_("records"), max_length=100)
    condition = models.CharField(_("only"), max_length=50, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=RetentionAction.choices)
    days = models.PositiveIntegerField(_("untouched for (days)"))
    enabled = models.BooleanField(_("enabled"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RetentionRun(models.Model):
    """One application of a policy: how many records it deleted or anonymised."""

    id = models.BigAutoField(primary_key=True)
    policy = models.ForeignKey(RetentionPolicy, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.policy_id} @ {self.started_at:%Y-%m-%d}"
