from __future__ import annotations

from django import forms

from rapport.notifications.models import NotificationPreference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["email_digest", "email_reminders"]
