from django.urls import path

from rapport.core.views import health, jobs, records, shares

app_name = "core"

urlpatterns = [
    path("health", health.health, name="health"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<uuid:pk>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<uuid:pk>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("jobs/<uuid:pk>/download/", jobs.job_download, name="job_download"),
    path("trash/", records.trash, name="trash"),
    path(
        "trash/<str:object_type>/<str:object_id>/restore/",
        records.trash_restore,
        name="trash_restore",
    ),
    path("trash/<str:object_type>/<str:object_id>/purge/", records.trash_purge, name="trash_purge"),
    path("history/<str:object_type>/<str:object_id>/", records.history, name="history"),
    path(
        "records/<str:object_type>/<str:object_id>/shares/",
        shares.share_add,
        name="share_add",
    ),
    path(
        "records/<str:object_type>/<str:object_id>/shares/<int:share_id>/remove/",
        shares.share_remove,
        name="share_remove",
    ),
    path("settings/audit/", records.audit, name="audit"),
    path("settings/audit/export/", records.audit_export, name="audit_export"),
    path("settings/custom-fields/", records.customfield_list, name="customfield_list"),
    path("settings/custom-fields/new/", records.customfield_create, name="customfield_create"),
    path("settings/custom-fields/<int:pk>/", records.customfield_edit, name="customfield_edit"),
    path(
        "settings/custom-fields/<int:pk>/delete/",
        records.customfield_delete,
        name="customfield_delete",
    ),
]
