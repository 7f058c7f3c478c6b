from django.urls import path

from rapport.sales import (
    deal_listing,
    deal_views,
    forecast_views,
    lead_views,
    order_views,
    pipeline_views,
    quote_views,
    views,
    webform_views,
)
from rapport.sales import lead_settings_views as lead_settings

app_name = "sales"

urlpatterns = [
    path("deals/", deal_listing.deal_list_page, name="deal_list"),
    path("deals/bulk/", deal_listing.deal_bulk, name="deal_bulk"),
    path("deals/views/", deal_listing.deal_save_view, name="deal_save_view"),
    path("deals/new/", deal_views.deal_create, name="deal_create"),
    path("deals/<int:pk>/", deal_views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", deal_views.deal_move, name="deal_move"),
    path("deals/<int:pk>/won/", deal_views.deal_won, name="deal_won"),
    path("deals/<int:pk>/lost/", deal_views.deal_lost, name="deal_lost"),
    path("deals/<int:pk>/reopen/", deal_views.deal_reopen, name="deal_reopen"),
    path("deals/<int:pk>/delete/", deal_views.deal_delete, name="deal_delete"),
    path("deals/<int:pk>/items/", deal_views.deal_line_items, name="deal_line_items"),
    path("deals/<int:pk>/people/", deal_views.deal_add_participant, name="deal_add_participant"),
    path(
        "deals/<int:pk>/people/<int:contact_id>/remove/",
        deal_views.deal_remove_participant,
        name="deal_remove_participant",
    ),
    path("pipeline/", deal_views.board_default, name="board_default"),
    path("forecast/", forecast_views.forecast_page, name="forecast"),
    path("sales-metrics/", forecast_views.metrics_page, name="metrics"),
    path("forecast/quotas/", forecast_views.quota_page, name="quotas"),
    path("pipelines/<int:pk>/", deal_views.board, name="board"),
    path(
        "pipelines/<int:pk>/stages/<int:stage_id>/cards/",
        deal_views.board_column,
        name="board_column",
    ),
    path("settings/pipelines/", pipeline_views.pipeline_settings, name="pipeline_settings"),
    path("settings/pipelines/new/", pipeline_views.pipeline_create, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", pipeline_views.pipeline_edit, name="pipeline_edit"),
    path(
        "settings/pipelines/<int:pk>/stages/new/",
        pipeline_views.stage_create,
        name="stage_create",
    ),
    path("settings/stages/<int:pk>/", pipeline_views.stage_edit, name="stage_edit"),
    path(
        "settings/stages/<int:pk>/<str:direction>/",
        pipeline_views.stage_shift,
        name="stage_shift",
    ),
    path("settings/stages/<int:pk>/delete/", pipeline_views.stage_delete, name="stage_delete"),
    path(
        "settings/lost-reasons/new/", pipeline_views.lost_reason_create, name="lost_reason_create"
    ),
    path(
        "settings/lost-reasons/<int:pk>/", pipeline_views.lost_reason_edit, name="lost_reason_edit"
    ),
    path("orders/", order_views.order_list, name="order_list"),
    path("orders/new/", order_views.order_create, name="order_create"),
    path("orders/<int:pk>/", order_views.order_detail, name="order_detail"),
    path("orders/<int:pk>/edit/", order_views.order_edit, name="order_edit"),
    path("orders/<int:pk>/status/", order_views.order_transition, name="order_transition"),
    path("orders/contacts/lookup/", order_views.order_contact_lookup, name="order_contact_lookup"),
    path("quotes/", quote_views.quote_list, name="quote_list"),
    path("quotes/new/", quote_views.quote_create, name="quote_create"),
    path("quotes/<int:pk>/", quote_views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", quote_views.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/pdf/", quote_views.quote_download, name="quote_download"),
    path("quotes/<int:pk>/send/", quote_views.quote_send, name="quote_send"),
    path("quotes/<int:pk>/mark-sent/", quote_views.quote_mark_sent, name="quote_mark_sent"),
    path("quotes/<int:pk>/answer/", quote_views.quote_record_answer, name="quote_record_answer"),
    path("q/<str:token>/", quote_views.quote_public, name="quote_public"),
    path("q/<str:token>/answer/", quote_views.quote_public_answer, name="quote_public_answer"),
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
