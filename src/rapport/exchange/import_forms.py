"""Forms of the import wizard: the upload, and the mapping with its options."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.exchange.import_types import ImportType, import_types
from rapport.exchange.imports import DATE_FORMATS
from rapport.exchange.models import ImportRun

ENCODINGS = [
    ("", _("Detected")),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 with BOM")),
    ("utf-16", "UTF-16"),
    ("cp1252", _("Windows-1252 (Western European)")),
    ("latin-1", "Latin-1 (ISO 8859-1)"),
]
DELIMITERS = [
    ("", _("Detected")),
    (",", _("Comma")),
    (";", _("Semicolon")),
    ("\t", _("Tab")),
    ("|", "|"),
]


class UploadForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Import"))
    file = forms.FileField(label=_("CSV or XLSX file"))

    def __init__(self, *args: Any, allowed: list[ImportType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [(kind.key, kind.label) for kind in allowed]


class MappingForm(forms.Form):
    """One choice of field per column, then the key and the options."""

    key = forms.ChoiceField(label=_("Match existing records by"), required=False)
    date_formats = forms.MultipleChoiceField(
        label=_("Dates are written as"),
        choices=[(pattern, example) for pattern, example in DATE_FORMATS.items()],
        initial=["%Y-%m-%d"],
        widget=forms.CheckboxSelectMultiple,
    )
    decimal_comma = forms.BooleanField(
        label=_("Numbers use a decimal comma (1.234,56)"), required=False
    )
    create_companies = forms.BooleanField(
        label=_("Create companies that do not exist yet"), required=False
    )
    phone_region = forms.CharField(
        label=_("Country of phone numbers without a country code"), max_length=2, required=False
    )
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITERS, required=False)

    def __init__(self, *args: Any, run: ImportRun, kind: ImportType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run = run
        targets = [("", _("— do not import —"))] + [
            (target.name, target.label) for target in kind.all_targets()
        ]
        self.column_names = []
        for index, title in enumerate(run.header):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=title or _("Column %(number)d") % {"number": index + 1},
                choices=targets,
                required=False,
                initial=run.mapping.get(str(index), ""),
            )
            self.column_names.append(name)
        self.fields["key"].choices = [("", _("Nothing: always create")), *kind.key_choices()]
        for name in ("key", "date_formats", "decimal_comma", "create_companies", "phone_region"):
            if name in run.options:
                self.fields[name].initial = run.options[name]
        if run.file_format != "csv":
            # A spreadsheet's numbers carry their own decimal mark.
            del self.fields["encoding"], self.fields["delimiter"], self.fields["decimal_comma"]

    def column_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.column_names]

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("column_"): self.cleaned_data[name]
            for name in self.column_names
            if self.cleaned_data.get(name)
        }

    def options(self) -> dict[str, Any]:
        names = ("key", "date_formats", "decimal_comma", "create_companies", "phone_region")
        return {name: self.cleaned_data.get(name) for name in names}


class SaveMappingForm(forms.Form):
    name = forms.CharField(label=_("Save this mapping as"), max_length=100)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)


def allowed_types(user: Any) -> list[ImportType]:
    from rapport.exchange.imports import may_import

    return [kind for kind in import_types() if may_import(user, kind.model)]
