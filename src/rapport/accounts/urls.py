from django.contrib.auth import views as auth_views
from django.urls import path

from rapport.accounts import signin_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", signin_views.LoginView.as_view(), name="login"),
    path("login/code/", signin_views.login_code, name="login_code"),
    path(
        "login/two-factor-setup/",
        signin_views.login_two_factor_setup,
        name="login_two_factor_setup",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.profile, name="profile"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/two-factor/", signin_views.two_factor, name="two_factor"),
    path("account/two-factor/start/", signin_views.two_factor_start, name="two_factor_start"),
    path("account/two-factor/confirm/", signin_views.two_factor_confirm, name="two_factor_confirm"),
    path(
        "account/two-factor/recovery-codes/",
        signin_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("account/two-factor/disable/", signin_views.two_factor_disable, name="two_factor_disable"),
    path(
        "account/sessions/log-out-others/",
        signin_views.logout_other_sessions,
        name="logout_other_sessions",
    ),
    path("account/tokens/new/", views.token_create, name="token_create"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("password-reset/", signin_views.PasswordResetView.as_view(), name="password_reset"),
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
    path(
        "settings/users/<int:pk>/two-factor/reset/",
        signin_views.user_two_factor_reset,
        name="user_two_factor_reset",
    ),
    path("settings/teams/", views.team_list, name="team_list"),
    path("settings/teams/new/", views.team_create, name="team_create"),
    path("settings/teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("settings/roles/", views.role_list, name="role_list"),
    path("settings/roles/new/", views.role_create, name="role_create"),
    path("settings/roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("settings/roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
]
