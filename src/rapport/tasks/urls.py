from django.urls import path

from rapport.tasks import views

app_name = "tasks"

urlpatterns = [
    path("my-work/", views.my_work, name="my_work"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/quick-add/", views.task_quick_add, name="task_quick_add"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task_delete"),
]
