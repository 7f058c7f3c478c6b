"""The task form (full page) and the quick-add form of a record's tasks panel."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rapport.accounts.models import Team, User
from rapport.tasks.models import REMINDER_MAX_MINUTES, Priority, Recurrence, Status
from rapport.tasks.services import RecordRef

REMINDER_CHOICES = [
    ("", _("No reminder")),
    (0, _("At the due time")),
    (10, _("10 minutes before")),
    (30, _("30 minutes before")),
    (60, _("1 hour before")),
    (60 * 24, _("1 day before")),
]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _minutes_label(minutes: int) -> str:
    return ngettext("%(count)d minute before", "%(count)d minutes before", minutes) % {
        "count": minutes
    }


class RelatedField(forms.MultipleChoiceField):
    """Records the task is about, as hidden ``app.model:id`` values."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[RecordRef]:
        try:
            return [RecordRef.parse(str(raw)) for raw in value or []]
        except ValueError:
            raise forms.ValidationError(_("A linked record is not valid.")) from None

    def validate(self, value: list[RecordRef]) -> None:
        # Whether each record exists and may be linked is the service's question.
        return None


def reminder_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=_("Reminder"), choices=REMINDER_CHOICES, coerce=int, empty_value=None, required=False
    )


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=DATETIME_WIDGET, help_text=_("In your time zone.")
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=User.objects.filter(is_active=True), required=False
    )
    assignee_team = forms.ModelChoiceField(
        label=_("Assigned to team"), queryset=Team.objects.all(), required=False
    )
    recurrence = forms.ChoiceField(label=_("Repeats"), choices=Recurrence.choices, required=False)
    recurrence_interval = forms.IntegerField(
        label=_("Every"),
        min_value=1,
        max_value=365,
        initial=1,
        help_text=_("Repeat every this many days, weeks or months."),
    )
    reminder_minutes = reminder_field()
    related = RelatedField(required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority"].initial = Priority.NORMAL
        if creating:
            del self.fields["status"]
            del self.fields["version"]
            self.fields["assignee"].empty_label = _("Me")
        minutes = self.initial.get("reminder_minutes")
        known = {value for value, _label in REMINDER_CHOICES}
        if minutes is not None and minutes not in known and 0 <= minutes <= REMINDER_MAX_MINUTES:
            # A lead time set through the API stays choosable here.
            self.fields["reminder_minutes"].choices = [
                *REMINDER_CHOICES,
                (minutes, _minutes_label(minutes)),
            ]

    def values(self) -> dict[str, Any]:
        """The service's ``values``: every field but the links and the version."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("related", "version")
        }


class QuickTaskForm(forms.Form):
    """A task for the record whose page it is on: a title and, maybe, a due time and a
    reminder."""

    title = forms.CharField(label=_("New task"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=DATETIME_WIDGET)
    reminder_minutes = reminder_field()
    related = forms.CharField(widget=forms.HiddenInput)

    def values(self) -> dict[str, Any]:
        """The service's ``values``: all but the record, which the task is linked to."""
        return {name: value for name, value in self.cleaned_data.items() if name != "related"}

    def clean_related(self) -> RecordRef:
        try:
            return RecordRef.parse(self.cleaned_data["related"])
        except ValueError:
            raise forms.ValidationError(_("A linked record is not valid.")) from None
