from django.urls import path

from rapport.attachments import views

app_name = "attachments"

urlpatterns = [
    path("attachments/<int:pk>/download/", views.attachment_download, name="download"),
    path(
        "attachments/<int:pk>/versions/<int:number>/download/",
        views.attachment_download,
        name="download_version",
    ),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="delete"),
    path(
        "attachments/<str:object_type>/<str:object_id>/",
        views.attachment_list,
        name="list",
    ),
    path(
        "attachments/<str:object_type>/<str:object_id>/upload/",
        views.attachment_upload,
        name="upload",
    ),
]
