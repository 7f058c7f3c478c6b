"""The timeline's inline forms: add a note, log a call, log a meeting.

They check the shape of the input only; the rules (each kind's fields, a
meeting's end after its start, who may link what) are the services', whose
errors ``apply_errors`` shows on the matching field.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import User
from rapport.activities.models import MAX_BODY_CHARS, ActivityKind, CallOutcome, Direction
from rapport.core.forms import apply_service_errors

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DEFAULT_MEETING_MINUTES = 30


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


def _now() -> datetime.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class ActivityForm(forms.Form):
    """What the inline forms share: the kind they log and how their fields map onto the
    service's arguments."""

    kind: ClassVar[str]
    # Service field → form field, where the form asks differently (minutes, not seconds).
    renamed: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, prefix=prefix or self.kind, **kwargs)

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    def service_arguments(self) -> dict[str, Any]:
        return {"values": self.values()}

    def apply_errors(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            error = ValidationError(
                {
                    self.renamed.get(name, name): messages
                    for name, messages in error.message_dict.items()
                }
            )
        apply_service_errors(self, error)


def _body_field(label: str, *, required: bool) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NoteForm(ActivityForm):
    kind = ActivityKind.NOTE
    body = _body_field(_("Note"), required=True)

    def __init__(self, *args: Any, mentions_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        listbox = f"{self.prefix}-mention-options"
        self.fields["body"].widget.attrs.update(
            {
                "data-mentions": mentions_url,
                "aria-autocomplete": "list",
                "aria-controls": listbox,
                "aria-expanded": "false",
                "autocomplete": "off",
            }
        )
        self.fields["body"].help_text = _("Type @ and a name to mention a colleague.")
        self.mention_listbox = listbox


class CallForm(ActivityForm):
    kind = ActivityKind.CALL
    renamed = {"duration_seconds": "duration_minutes"}

    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    occurred_at = _datetime_field(_("When"))
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *CallOutcome.choices], required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    body = _body_field(_("Notes"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now

    def values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        minutes = values.pop("duration_minutes")
        values["duration_seconds"] = None if minutes is None else minutes * 60
        return values


class MeetingForm(ActivityForm):
    kind = ActivityKind.MEETING
    renamed = {"attendee_users": "attendees"}

    subject = forms.CharField(label=_("Subject"), max_length=300)
    starts_at = _datetime_field(_("Starts"))
    ends_at = _datetime_field(_("Ends"))
    location = forms.CharField(label=_("Location"), max_length=300, required=False)
    attendees = forms.ModelMultipleChoiceField(
        label=_("Colleagues attending"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    body = _body_field(_("Notes"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].initial = _now
        self.fields["ends_at"].initial = lambda: (
            _now() + datetime.timedelta(minutes=DEFAULT_MEETING_MINUTES)
        )

    def service_arguments(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        attendees = values.pop("attendees")
        return {"values": values, "attendee_users": [user.pk for user in attendees]}


FORMS: dict[str, type[ActivityForm]] = {
    form.kind: form for form in (NoteForm, CallForm, MeetingForm)
}
