"""Documents attached to records: one ``Attachment`` per name on a record, one
``AttachmentVersion`` per upload of that name.

An attachment points at its record by object type label (``contacts.contact``)
and primary key, so any record type, today's or a later one, has attachments
without a foreign key to it. Whoever may see the record may read its
attachments; whoever may edit it may add and delete them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 200


class Attachment(models.Model):
    """A named document on one record; the facts of its latest version are copied
    here so a list of attachments needs no second query."""

    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version_count = models.PositiveIntegerField(_("versions"), default=0)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id", "name"], name="attachment_name_per_record"
            )
        ]
        indexes = [
            models.Index(
                fields=["object_type", "object_id", "-updated_at", "-id"],
                name="attachment_record_recent",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AttachmentVersion(models.Model):
    attachment = models.ForeignKey(
        Attachment, on_delete=models.CASCADE, related_name="versions", verbose_name=_("attachment")
    )
    number = models.PositiveIntegerField(_("version"))
    # Stored under a random name by ``services.attachment_upload``; ``attachment.name``
    # is only shown and sent as the download's file name.
    file = models.FileField(_("file"), upload_to="attachments/", max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=255)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("attachment version")
        verbose_name_plural = _("attachment versions")
        constraints = [
            models.UniqueConstraint(
                fields=["attachment", "number"], name="attachment_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attachment.name} (v{self.number})"
