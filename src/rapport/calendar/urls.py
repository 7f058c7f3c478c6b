from django.urls import path

from rapport.calendar import views

app_name = "calendar"

urlpatterns = [
    path("calendar/", views.agenda, name="agenda"),
    path("calendar/week/", views.week, name="week"),
    path("calendar/meetings/<int:pk>.ics", views.meeting_ics, name="meeting_ics"),
    path("calendar/feed/<str:token>.ics", views.feed, name="feed"),
    path("calendar/subscribe/", views.subscribe, name="subscribe"),
    path("calendar/subscribe/new/", views.feed_create, name="feed_create"),
    path("calendar/subscribe/off/", views.feed_revoke, name="feed_revoke"),
    path("calendar/import/", views.import_upload, name="import_upload"),
    path("calendar/import/review/", views.import_review, name="import_review"),
]
