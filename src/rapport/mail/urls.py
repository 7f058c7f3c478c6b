from django.urls import path

from rapport.mail import views

app_name = "mail"

urlpatterns = [
    path("email-templates/", views.template_list, name="template_list"),
    path("email-templates/new/", views.template_create, name="template_create"),
    path("email-templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("email-templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("contacts/<int:contact_id>/email/", views.compose, name="compose"),
    path("emails/<int:pk>/delivery/", views.delivery, name="delivery"),
    path("emails/<int:pk>/retry/", views.retry, name="retry"),
    path("emails/<int:pk>/reply/", views.reply, name="reply"),
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/new/", views.mailbox_connect, name="mailbox_connect"),
    path("mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/sync/", views.mailbox_sync, name="mailbox_sync"),
    path("mailboxes/<int:pk>/disconnect/", views.mailbox_disconnect, name="mailbox_disconnect"),
    path("mailboxes/received/", views.received, name="received"),
]
