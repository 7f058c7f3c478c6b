"""Forms of the privacy pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.privacy.models import Purpose, RetentionAction, RetentionPolicy
from rapport.privacy.retention import TARGETS, condition_choices


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Consent"),
        choices=[("1", _("Granted")), ("0", _("Withdrawn"))],
        coerce=lambda value: value == "1",
    )
    proof = forms.CharField(
        label=_("Proof"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("How you know: the words they used, the call, the signed form."),
    )


class ErasureForm(forms.Form):
    confirmation = forms.CharField(
        label=_("Confirm"),
        max_length=300,
        help_text=_("Type ERASE, or the person's name, to confirm. This cannot be undone."),
    )


class RetentionPolicyForm(forms.ModelForm):
    object_type = forms.ChoiceField(label=_("Records"))
    condition = forms.ChoiceField(label=_("Only"), required=False)
    action = forms.ChoiceField(label=_("Action"), choices=RetentionAction.choices)

    class Meta:
        model = RetentionPolicy
        fields = ["name", "object_type", "condition", "action", "days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [
            (key, target.label) for key, target in TARGETS.items()
        ]
        self.fields["condition"].choices = [("", _("All of them")), *condition_choices()]
