from django.contrib.auth import views as auth_views
from django.urls import path

from rapport.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.profile, name="profile"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/new/", views.token_create, name="token_create"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/new/", views.user_create, name="user_create"),
    path("settings/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("settings/users/<int:pk>/invite/", views.user_invite, name="user_invite"),
    path("settings/teams/", views.team_list, name="team_list"),
    path("settings/teams/new/", views.team_create, name="team_create"),
    path("settings/teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("settings/roles/", views.role_list, name="role_list"),
    path("settings/roles/new/", views.role_create, name="role_create"),
    path("settings/roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("settings/roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
]
