"""vCard pages: a contact's card as a download, and the upload page of the import with
its report. Thin: read the upload, call ``exchange.vcard``, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.core.models import Source
from rapport.exchange import vcard


def vcard_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type=vcard.CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
def contact_vcard(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact's vCard 4.0 as a ``.vcf`` download."""
    contact = vcard.exportable_contact(request.user, pk)
    return vcard_response(vcard.contacts_to_vcards([contact]), vcard.vcard_filename(contact))


class VcardUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("vCard file (.vcf)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".vcf,.vcard,text/vcard,text/x-vcard"
        self.fields["file"].help_text = _(
            "vCard 3.0 or 4.0, at most %(size)s and %(count)d contacts, as phones, Outlook, "
            "Google Contacts and Apple Contacts export them."
        ) % {"size": filesizeformat(vcard.MAX_BYTES), "count": vcard.MAX_CARDS}

    def clean_file(self) -> str:
        """The file's text."""
        upload = self.cleaned_data["file"]
        if upload.size > vcard.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (%(size)s); the limit is %(limit)s.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(vcard.MAX_BYTES)}
            )
        return vcard.vcard_text(upload.read())


@login_required
def vcard_import(request: HttpRequest) -> HttpResponse:
    """Choose a ``.vcf`` file; its cards become contacts, or update those with their
    email address, and the result of each card is shown."""
    vcard.may_import(request.user)
    posted = request.method == "POST"
    form = VcardUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if form.is_valid():
        try:
            report = vcard.vcards_import(
                form.cleaned_data["file"], actor=Actor.for_request(request, Source.IMPORT)
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            context = {"report": report, "file_name": request.FILES["file"].name}
            return render(request, "exchange/vcard_report.html", context)
    return render(request, "exchange/vcard_import.html", {"form": form})
