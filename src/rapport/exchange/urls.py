from django.urls import path

from rapport.exchange import export_views, import_views, vcard_views

app_name = "exchange"

urlpatterns = [
    path("exports/<slug:records>/", export_views.export_start, name="export_start"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path(
        "imports/mappings/<int:pk>/delete/",
        import_views.mapping_delete,
        name="mapping_delete",
    ),
    path("imports/<int:pk>/status/", import_views.import_status, name="import_status"),
    path("imports/<int:pk>/failures.csv", import_views.import_failures, name="import_failures"),
    path("imports/<int:pk>/<slug:action>/", import_views.import_action, name="import_action"),
    path("contacts/<int:pk>/vcard/", vcard_views.contact_vcard, name="contact_vcard"),
    path("contacts/import/vcards/", vcard_views.vcard_import, name="vcard_import"),
]
