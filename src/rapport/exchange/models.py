"""Imports: the uploaded file, how its columns map onto a record type, and how far it got.

An ``ImportRun`` walks from upload to mapping to a dry run or a real run. A
real run writes in batches, each one transaction that also moves
``next_row`` and the counts, so the run's counts always describe what is
committed and a run stopped anywhere resumes from ``next_row`` without
losing or repeating a row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import Job


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Being mapped")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    INTERRUPTED = "interrupted", _("Interrupted")
    SUCCEEDED = "succeeded", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    ROLLING_BACK = "rolling_back", _("Being rolled back")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class ImportRun(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_runs"
    )
    object_type = models.CharField(_("records"), max_length=40)
    file = models.FileField(upload_to="imports/")
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    file_format = models.CharField(max_length=10)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    header = models.JSONField(default=list)
    # {column index as text: target field name}
    mapping = models.JSONField(default=dict, blank=True)
    # key field, date formats, whether to create missing companies…
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dry_run_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Data rows (not counting the header) committed so far: where a resumed run starts.
    next_row = models.PositiveBigIntegerField(default=0)
    total_rows = models.PositiveBigIntegerField(null=True, blank=True)
    created = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    unchanged = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="import_owner_idx")]

    def __str__(self) -> str:
        return self.file_name

    @property
    def audit_tag(self) -> str:
        """The request id of every audit entry the run writes: how a rollback finds them."""
        return f"import:{self.pk}"


class ImportFailure(models.Model):
    """One row the run could not write, with why, and its cells as read."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="failures")
    line = models.PositiveBigIntegerField()
    reason = models.TextField()
    cells = models.JSONField(default=list)
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["run", "dry_run", "line"], name="import_failure_idx")]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"


class ImportMapping(models.Model):
    """A saved mapping of column headers to fields, offered again for similar files."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings"
    )
    name = models.CharField(_("name"), max_length=100)
    object_type = models.CharField(max_length=40)
    # {column header: target field name}
    columns = models.JSONField(default=dict)
    options = models.JSONField(default=dict, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "object_type", "name"], name="import_mapping_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
