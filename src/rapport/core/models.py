"""Model mixins every domain uses, and the tables of the core machinery.

Mixins: ``TimestampedModel``, ``AuthoredModel``, ``OwnedModel``,
``SoftDeleteModel``, ``VersionedModel``, ``CustomFieldsModel`` and ``Record``,
which combines them all for a first-class CRM object.

Machinery: ``AuditEntry`` (field-level history), ``OutboxEvent`` (domain
events delivered after commit), ``Job`` (background work a user can watch),
``WorkerHeartbeat`` and ``CustomFieldDefinition``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class AuthoredModel(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class OwnedModel(models.Model):
    """A record with an owning user and team: the basis of own / team scopes."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
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

    class Meta:
        abstract = True


class LiveManager(models.Manager):
    """Hides records in the trash."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """Deleting moves the record to the trash; purging removes it for good."""

    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = LiveManager()
    all_objects = models.Manager()  # noqa: DJ012 - a manager ruff reads as a field

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class VersionedModel(models.Model):
    """``version`` grows by one on every write: the ETag and If-Match basis."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class CustomFieldsModel(models.Model):
    """Values of admin-defined fields, validated by ``core.customfields``."""

    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True


# Fields of a record the services set themselves, never from input.
PROTECTED_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "deleted_at",
        "deleted_by",
        "version",
        "custom",
    }
)


class Record(
    TimestampedModel,
    AuthoredModel,
    OwnedModel,
    SoftDeleteModel,
    VersionedModel,
    CustomFieldsModel,
):
    """A first-class CRM object: contacts, companies, deals, tickets…"""

    class Meta:
        abstract = True


class Source(models.TextChoices):
    UI = "ui", _("Web UI")
    API = "api", _("API")
    CLI = "cli", _("Command line")
    IMPORT = "import", _("Import")
    AUTOMATION = "automation", _("Automation")
    SYSTEM = "system", _("System")
    EMAIL = "email", _("Email received")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Moved to trash")
    RESTORE = "restore", _("Restored")
    PURGE = "purge", _("Deleted for good")
    MERGE = "merge", _("Merged")
    SHARE = "share", _("Shared")
    UNSHARE = "unshare", _("Sharing removed")
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")


class AuditEntry(models.Model):
    """One write to one record: who, when, through what, and each field's before/after.

    Written by services in the writing transaction; never updated.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            # Finds what one import wrote, to roll it back; most entries have no request id.
            models.Index(
                fields=["request_id", "id"],
                condition=~models.Q(request_id=""),
                name="audit_request_idx",
            ),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Gave up")


class OutboxEvent(models.Model):
    """A domain event written in the transaction that caused it.

    The dispatcher delivers it to the registered handlers after commit, at
    least once, in ``id`` order per ``(aggregate_type, aggregate_id)``.
    """

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.SYSTEM)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Dispatchers walk pending events in id order and stop at a batch.
            models.Index(fields=["status", "id"], name="outbox_pending_idx"),
            # "Is an earlier event of this record still pending?" — asked for every candidate.
            models.Index(
                fields=["aggregate_type", "aggregate_id", "status", "id"],
                name="outbox_record_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Job(models.Model):
    """Background work started by a user, whose status and progress they can watch."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
    )
    kind = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="jobs/", blank=True)
    task_result_id = models.CharField(max_length=64, blank=True)
    # The worker running it, so a job whose worker died can be marked failed.
    worker_id = models.CharField(max_length=100, blank=True)
    # Runs started: more than one when a dead worker's job was taken over.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="job_owner_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class WorkerHeartbeat(models.Model):
    """Written by each running worker every few seconds; read by ``/health``."""

    worker_id = models.CharField(max_length=100, primary_key=True)
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.worker_id


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    BOOLEAN = "boolean", _("Yes / no")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    EMAIL = "email", _("Email")
    URL = "url", _("URL")


class CustomFieldDefinition(TimestampedModel):
    """An admin-defined field of one object type, stored in that type's ``custom`` JSON.

    ``validation`` holds optional rules: ``min``/``max`` (numbers and dates),
    ``min_length``/``max_length`` and ``pattern`` (text).
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(
        max_length=60,
        help_text=_("Name in the API and in imports: lower case letters, digits and _."),
    )
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=20, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    validation = models.JSONField(default=dict, blank=True)
    help_text = models.CharField(max_length=300, blank=True)
    sensitive = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["content_type", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "key"], name="customfield_unique_key")
        ]

    def __str__(self) -> str:
        return self.label


class ShareAccess(models.TextChoices):
    READ = "read", _("Can view")
    EDIT = "edit", _("Can view and edit")


class RecordShare(models.Model):
    """One record shared with one user or one team beyond their role's scope.

    ``core.permissions.scope`` reads these in a subquery on (content type, user) or
    (content type, team), both indexed with the object id so the subquery is answered
    from the index alone.
    """

    # Indexed by the composite indexes below, which it leads.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="record_shares",
        verbose_name=_("user"),
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="record_shares",
        verbose_name=_("team"),
    )
    access = models.CharField(
        _("access"), max_length=10, choices=ShareAccess.choices, default=ShareAccess.READ
    )
    created_at = models.DateTimeField(_("shared"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("shared by"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["content_type", "user", "object_id"], name="share_user_idx"),
            models.Index(fields=["content_type", "team", "object_id"], name="share_team_idx"),
            models.Index(fields=["content_type", "object_id"], name="share_object_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="share_user_or_team",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "user"], name="share_unique_user"
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "team"], name="share_unique_team"
            ),
        ]
        verbose_name = _("share")
        verbose_name_plural = _("shares")

    def __str__(self) -> str:
        return str(self.user or self.team)


class SavedView(TimestampedModel):
    """A named list-page setup: filters, columns and sort, personal or shared with everyone.

    ``filters`` holds the list's query parameters as the object type's
    FilterSet reads them, so a view opened on the page, requested through the
    API or exported selects the same records."""

    object_type = models.CharField(max_length=100)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    sort = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["object_type", "owner"], name="savedview_type_owner_idx")]

    def __str__(self) -> str:
        return self.name


class SearchEntry(models.Model):
    """One searchable record in the global search index (kept by ``core.search``).

    ``text`` holds the record's words, folded and space-separated. The
    full-text index over it lives outside Django's model: on SQLite an FTS5
    table (``core_search_fts``) that triggers keep in step with this table,
    on PostgreSQL a generated ``document`` tsvector column with a GIN index
    (migration ``0003_search``). A migration that rebuilds this table on
    SQLite must create those triggers again.

    ``owner_id`` and ``team_id`` copy the record's, so a search can apply
    permission scopes inside the index before it picks the top hits.
    """

    id = models.BigAutoField(primary_key=True)
    object_type = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"], name="searchentry_unique_object"
            )
        ]
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"


class SearchTerm(models.Model):
    """A word that occurs in the search index: the vocabulary typo-tolerant search
    picks close words from when a query's own words find nothing."""

    id = models.BigAutoField(primary_key=True)
    term = models.CharField(max_length=40, unique=True)

    def __str__(self) -> str:
        return self.term


class ThrottleCounter(models.Model):
    """How many times one key (a hashed client address, account or token, with what it
    counts) was counted in one fixed window: the counters behind rate limits and login
    lockouts, one upserted row per key and window."""

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=80)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["window_start"]
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="throttlecounter_window")
        ]
        indexes = [models.Index(fields=["window_start"], name="throttlecounter_age_idx")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M}: {self.hits}"
