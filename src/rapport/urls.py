from django.urls import include, path

from rapport.api import api

urlpatterns = [
    path("", include("rapport.web.urls")),
    path("", include("rapport.core.urls")),
    path("", include("rapport.accounts.urls")),
    path("", include("rapport.contacts.urls")),
    path("", include("rapport.activities.urls")),
    path("", include("rapport.attachments.urls")),
    path("", include("rapport.notifications.urls")),
    path("", include("rapport.tasks.urls")),
    path("", include("rapport.mail.urls")),
    path("", include("rapport.calendar.urls")),
    path("", include("rapport.sales.urls")),
    path("", include("rapport.exchange.urls")),
    path("", include("rapport.privacy.urls")),
    path("api/v1/", api.urls),
]

handler403 = "rapport.web.views.permission_denied"
handler404 = "rapport.web.views.page_not_found"
handler500 = "rapport.web.views.server_error"
