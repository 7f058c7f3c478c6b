"""The ``.ics`` import's two forms: the upload, and the choice of a record to link the
meetings to. The upload reads the file here, so an unreadable one is a form error."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.calendar.ics import MAX_EVENTS, IcsError, ParsedEvent, parse_events

MAX_ICS_BYTES = 2 * 1024 * 1024


class IcsUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Calendar file (.ics)"))

    def __init__(self, *args: Any, tz: datetime.tzinfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["file"].widget.attrs["accept"] = ".ics,text/calendar"
        self.fields["file"].help_text = _(
            "At most %(size)s and %(count)d events. Exported by Google Calendar, Outlook, "
            "Apple Calendar or any other calendar."
        ) % {"size": filesizeformat(MAX_ICS_BYTES), "count": MAX_EVENTS}

    def clean_file(self) -> str:
        """The file's text, once it has been read as iCalendar events (in ``events``)."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_ICS_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s.") % {"size": filesizeformat(MAX_ICS_BYTES)}
            )
        data = upload.read()
        try:
            self.events: list[ParsedEvent] = parse_events(data, tz=self.tz)
        except IcsError as error:
            raise forms.ValidationError(str(error)) from None
        return data.decode("utf-8-sig")


class ImportConfirmForm(forms.Form):
    """Which record to link every meeting to, besides the contacts found by email:
    one of ``choices`` (``label:id``), or the contact with an email address."""

    link_to = forms.ChoiceField(label=gettext_lazy("Also link every meeting to"), required=False)
    contact_email = forms.EmailField(
        label=gettext_lazy("Or to the contact with this email address"), required=False
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["link_to"].choices = [("", _("No other record")), *choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("link_to") and data.get("contact_email"):
            raise forms.ValidationError(_("Choose a record or give an email address, not both."))
        return data
