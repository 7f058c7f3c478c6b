from django.urls import path

from rapport.activities import views

app_name = "activities"

urlpatterns = [
    path("activities/mentions/", views.mention_options, name="mention_options"),
    path("activities/<int:pk>/", views.activity_detail, name="detail"),
    path("activities/<int:pk>/delete/", views.activity_delete, name="delete"),
    path(
        "timeline/<str:object_type>/<int:object_id>/",
        views.timeline_items,
        name="timeline",
    ),
    path(
        "timeline/<str:object_type>/<int:object_id>/log/<str:kind>/",
        views.log_activity,
        name="log",
    ),
]
