from django.urls import path

from rapport.sales import lead_settings_views as lead_settings
from rapport.sales import lead_views, views, webform_views

app_name = "sales"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/stock/", views.product_adjust_stock, name="product_adjust_stock"),
    path("products/<int:pk>/delete/", views.product_delete, name="product_delete"),
    path("settings/price-books/", views.price_book_list, name="price_book_list"),
    path("settings/price-books/new/", views.price_book_create, name="price_book_create"),
    path("settings/price-books/<int:pk>/", views.price_book_detail, name="price_book_detail"),
    path(
        "settings/price-books/<int:pk>/prices/",
        views.price_book_set_price,
        name="price_book_set_price",
    ),
    path(
        "settings/price-books/<int:pk>/prices/<int:product_id>/remove/",
        views.price_book_remove_price,
        name="price_book_remove_price",
    ),
    path(
        "settings/price-books/<int:pk>/delete/", views.price_book_delete, name="price_book_delete"
    ),
    path("settings/currencies/", views.currency_list, name="currency_list"),
    path("settings/currencies/new/", views.currency_create, name="currency_create"),
    path("settings/currencies/rates/new/", views.rate_create, name="rate_create"),
    path("settings/currencies/rates/<int:pk>/delete/", views.rate_delete, name="rate_delete"),
    path("settings/currencies/<str:code>/", views.currency_edit, name="currency_edit"),
]

urlpatterns += [
    path("leads/", lead_views.lead_list, name="lead_list"),
    path("leads/new/", lead_views.lead_create, name="lead_create"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", lead_views.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/delete/", lead_views.lead_delete, name="lead_delete"),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("f/<str:key>/", webform_views.webform_public, name="webform_public"),
    path("settings/web-forms/", lead_settings.webform_list, name="webform_list"),
    path("settings/web-forms/new/", lead_settings.webform_create, name="webform_create"),
    path("settings/web-forms/<int:pk>/", lead_settings.webform_edit, name="webform_edit"),
    path(
        "settings/web-forms/<int:pk>/delete/", lead_settings.webform_delete, name="webform_delete"
    ),
    path("settings/lead-scoring/", lead_settings.scoring_rule_list, name="scoring_rule_list"),
    path(
        "settings/lead-scoring/new/", lead_settings.scoring_rule_create, name="scoring_rule_create"
    ),
    path("settings/lead-scoring/rescore/", lead_settings.rescore_leads, name="scoring_rescore"),
    path(
        "settings/lead-scoring/<int:pk>/",
        lead_settings.scoring_rule_edit,
        name="scoring_rule_edit",
    ),
    path(
        "settings/lead-scoring/<int:pk>/delete/",
        lead_settings.scoring_rule_delete,
        name="scoring_rule_delete",
    ),
    path("settings/lead-routing/", lead_settings.routing_rule_list, name="routing_rule_list"),
    path(
        "settings/lead-routing/new/", lead_settings.routing_rule_create, name="routing_rule_create"
    ),
    path(
        "settings/lead-routing/<int:pk>/",
        lead_settings.routing_rule_edit,
        name="routing_rule_edit",
    ),
    path(
        "settings/lead-routing/<int:pk>/delete/",
        lead_settings.routing_rule_delete,
        name="routing_rule_delete",
    ),
]
