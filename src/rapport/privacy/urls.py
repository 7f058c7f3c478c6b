from django.urls import path

from rapport.privacy import views

app_name = "privacy"

urlpatterns = [
    path("contacts/<int:pk>/consents/", views.consent_record, name="consent_record"),
    path("contacts/<int:pk>/privacy/export/", views.export_start, name="export_start"),
    path("contacts/<int:pk>/privacy/erase/", views.erase, name="erase"),
    path("settings/privacy/", views.privacy_settings, name="settings"),
    path("settings/privacy/policies/new/", views.policy_edit, name="policy_create"),
    path("settings/privacy/policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("settings/privacy/policies/<int:pk>/enable/", views.policy_enable, name="policy_enable"),
    path("settings/privacy/policies/<int:pk>/delete/", views.policy_delete, name="policy_delete"),
]
