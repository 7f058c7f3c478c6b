from django.urls import path

from rapport.exchange import vcard_views

app_name = "exchange"

urlpatterns = [
    path("contacts/<int:pk>/vcard/", vcard_views.contact_vcard, name="contact_vcard"),
    path("contacts/import/vcards/", vcard_views.vcard_import, name="vcard_import"),
]
