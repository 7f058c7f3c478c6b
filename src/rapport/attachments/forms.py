from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class AttachmentForm(forms.Form):
    """The upload form; size and type are checked by ``services.attachment_upload``."""

    file = forms.FileField(label=gettext_lazy("File"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "At most %(limit)s. A file with the name of an attachment adds a new version."
        ) % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
