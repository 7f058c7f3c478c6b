from django.urls import path

from rapport.contacts import duplicate_views, listing, tags_and_lists, views

app_name = "contacts"

urlpatterns = [
    path("companies/", listing.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/bulk/", listing.company_bulk, name="company_bulk"),
    path("companies/merge/", views.company_merge, name="company_merge"),
    path("companies/lookup/", views.company_lookup, name="company_lookup"),
    path("contacts/lookup/", views.contact_lookup, name="contact_lookup"),
    path("companies/suggest/", views.company_suggest, name="company_suggest"),
    path("companies/views/", listing.company_save_view, name="company_save_view"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/delete/", views.company_delete, name="company_delete"),
    path("companies/<int:pk>/fields/<str:name>/", views.company_field, name="company_field"),
    path("contacts/", listing.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/bulk/", listing.contact_bulk, name="contact_bulk"),
    path("contacts/merge/", views.contact_merge, name="contact_merge"),
    path("contacts/views/", listing.contact_save_view, name="contact_save_view"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:pk>/fields/<str:name>/", views.contact_field, name="contact_field"),
    path("saved-views/<int:pk>/edit/", listing.saved_view_edit, name="saved_view_edit"),
    path("saved-views/<int:pk>/update/", listing.saved_view_update, name="saved_view_update"),
    path("saved-views/<int:pk>/delete/", listing.saved_view_delete, name="saved_view_delete"),
    path("duplicates/", duplicate_views.duplicate_list, name="duplicate_list"),
    path("duplicates/scan/", duplicate_views.duplicate_scan, name="duplicate_scan"),
    path(
        "duplicates/merge-sure/", duplicate_views.duplicate_merge_sure, name="duplicate_merge_sure"
    ),
    path(
        "duplicates/<int:pk>/dismiss/",
        duplicate_views.duplicate_dismiss,
        name="duplicate_dismiss",
    ),
    path("lists/", tags_and_lists.list_index, name="list_index"),
    path("lists/new/", tags_and_lists.list_create, name="list_create"),
    path("lists/<int:pk>/", tags_and_lists.list_detail, name="list_detail"),
    path("lists/<int:pk>/edit/", tags_and_lists.list_edit, name="list_edit"),
    path("lists/<int:pk>/delete/", tags_and_lists.list_delete, name="list_delete"),
    path(
        "lists/<int:pk>/members/<int:contact_pk>/remove/",
        tags_and_lists.list_remove_member,
        name="list_remove_member",
    ),
    path("settings/tags/", tags_and_lists.tag_list, name="tag_list"),
    path("settings/tags/new/", tags_and_lists.tag_create, name="tag_create"),
    path("settings/tags/<int:pk>/", tags_and_lists.tag_edit, name="tag_edit"),
    path("settings/tags/<int:pk>/delete/", tags_and_lists.tag_delete, name="tag_delete"),
]
