"""Forms of the company and contact pages.

They only parse what a page posts into the arguments of ``contacts.services``;
the services hold the rules, and their ``ValidationError`` is shown next to
the field it names (``apply_errors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import formset_factory
from django.forms.models import fields_for_model, model_to_dict
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.accounts.forms import PersonChoiceField
from rapport.accounts.models import TIMEZONE_CHOICES, Team, User
from rapport.contacts.dedupe import LOWEST_SURE, SURE
from rapport.contacts.filtersets import ID_PATTERN
from rapport.contacts.models import (
    AddressKind,
    Company,
    Contact,
    EmailKind,
    PhoneKind,
    SocialNetwork,
    StaticList,
    Tag,
)
from rapport.core import customfields
from rapport.core.forms import apply_service_errors

COMPANY_FIELDS = (
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "currency",
    "website",
    "parent",
    "lifecycle_stage",
    "value_tier",
    "owner",
    "team",
    "description",
)
CONTACT_FIELDS = (
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "job_title",
    "company",
    "birthday",
    "language",
    "timezone",
    "preferred_channel",
    "product_interests",
    "brand_interests",
    "do_not_email",
    "do_not_call",
    "do_not_sms",
    "do_not_mail",
    "source",
    "lifecycle_stage",
    "owner",
    "team",
)
LIST_FIELDS = ("product_interests", "brand_interests")
LOOKUP_LIMIT = 20


COMPANY_PLACEHOLDER = _("Type to find a company…")
COMPANY_SEARCH_LABEL = _("Find a company")


class LookupSelect(forms.Select):
    """A select that renders only its chosen option, with a search box beside it
    that fetches matching options (htmx) from ``lookup_url``: a company list of
    200,000 rows cannot be one ``<select>``."""

    template_name = "contacts/widgets/lookup_select.html"

    def __init__(
        self,
        lookup_url_name: str,
        attrs: dict[str, Any] | None = None,
        *,
        placeholder: str | Promise = COMPANY_PLACEHOLDER,
        search_label: str | Promise = COMPANY_SEARCH_LABEL,
    ) -> None:
        super().__init__(attrs)
        self.lookup_url_name = lookup_url_name
        self.placeholder = placeholder
        self.search_label = search_label

    def optgroups(self, name: str, value: list[str], attrs: dict[str, Any] | None = None) -> list:
        chosen = [item for item in value if item]
        queryset = self.choices.queryset.filter(pk__in=chosen) if chosen else []
        options = [self.create_option(name, "", "—", not chosen, 0)]
        for index, obj in enumerate(queryset, start=1):
            options.append(self.create_option(name, str(obj.pk), str(obj), True, index))
        return [(None, options, 0)]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["lookup_url"] = reverse(self.lookup_url_name)
        context["widget"]["placeholder"] = self.placeholder
        context["widget"]["search_label"] = self.search_label
        return context


@dataclass(frozen=True)
class ChosenCompany:
    pk: int
    name: str


class CompanyPicker(forms.Widget):
    """The ``company`` and ``parent`` filters of the list pages: the chosen companies as
    removable chips, each a hidden ``<name>=<id>`` input, and a box that suggests the
    visible companies matching what is typed (``contacts:company_suggest``). The
    query string keeps its ids, so links, the API, exports and saved views read it
    as before; only the page shows names."""

    template_name = "contacts/widgets/company_picker.html"

    def __init__(
        self, companies: models.QuerySet[Company], attrs: dict[str, Any] | None = None
    ) -> None:
        super().__init__(attrs)
        self.companies = companies

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def format_value(self, value: Any) -> list[str]:
        items = value if isinstance(value, (list, tuple)) else [value]
        parts = (part.strip() for item in items if item for part in str(item).split(","))
        return list(dict.fromkeys(part for part in parts if ID_PATTERN.match(part)))

    def chosen(self, ids: list[str]) -> list[ChosenCompany]:
        """The companies of ``ids`` with their names, read in one query; an id the user
        cannot see (or that names no company) shows as its number."""
        names = dict(self.companies.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
        return [
            ChosenCompany(int(pk), names.get(int(pk)) or _("Company #%(id)s") % {"id": pk})
            for pk in ids
        ]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["chosen"] = self.chosen(context["widget"]["value"])
        context["widget"]["suggest_url"] = reverse("contacts:company_suggest")
        return context


def _form_field(model_field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


class CheckboxList(forms.CheckboxSelectMultiple):
    """Checkboxes listed under their field's label: ``web/_form.html`` puts the label of a
    single checkbox after the box, which it recognises by ``input_type``."""

    input_type = "checkbox-list"

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["type"] = "checkbox"
        return option


class CommaListField(forms.CharField):
    """A list of short texts typed as one comma-separated line."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))


class RecordForm(forms.Form):
    """The fields of one company or contact, its tags and its custom fields.

    ``only`` keeps just the named fields: inline editing on the detail page
    posts one field at a time through the same form."""

    model: type[models.Model]
    field_names: Sequence[str]

    def __init__(
        self,
        *args: Any,
        instance: models.Model | None = None,
        only: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None:
            kwargs["initial"] = self.initial_for(instance) | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields.update(
            fields_for_model(self.model, fields=self.field_names, formfield_callback=_form_field)
        )
        self.fields["owner"] = PersonChoiceField(
            label=_("Owner"),
            queryset=User.objects.filter(is_active=True).order_by("first_name", "email"),
            required=False,
        )
        self.fields["team"] = forms.ModelChoiceField(
            label=_("Team"), queryset=Team.objects.order_by("name"), required=False
        )
        self.fields["tags"] = forms.ModelMultipleChoiceField(
            label=_("Tags"),
            queryset=Tag.objects.all(),
            required=False,
            widget=CheckboxList,
        )
        self.customize_fields()
        for name, field in customfields.form_fields(self.model).items():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget = CheckboxList(choices=field.choices)
            self.fields[name] = field
        if instance is not None:
            # The version the reader saw: a save over someone else's change is refused.
            self.fields["version"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=instance.version
            )
        if only is not None:
            keep = {*only, "version"}
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]

    def customize_fields(self) -> None:
        """Widgets and field types the model's defaults get wrong for this page."""

    def initial_for(self, instance: models.Model) -> dict[str, Any]:
        initial = model_to_dict(instance, fields=self.field_names)
        initial["tags"] = [tag.pk for tag in instance.tags.all()]
        for key, value in (instance.custom or {}).items():
            initial[f"custom_{key}"] = value
        return initial

    def values(self) -> dict[str, Any]:
        """The model field values, as ``values=`` of the services."""
        return {
            name: value for name, value in self.cleaned_data.items() if name in self.field_names
        }

    def custom(self) -> dict[str, Any] | None:
        values = customfields.form_values(self.cleaned_data)
        return values or None

    def tags(self) -> list[Tag] | None:
        return list(self.cleaned_data["tags"]) if "tags" in self.cleaned_data else None


class CompanyForm(RecordForm):
    model = Company
    field_names = COMPANY_FIELDS

    def customize_fields(self) -> None:
        self.fields["parent"] = forms.ModelChoiceField(
            label=_("Parent company"),
            queryset=Company.objects.all(),
            required=False,
            widget=LookupSelect("contacts:company_lookup"),
        )
        self.fields["currency"].widget.attrs.update({"placeholder": "EUR", "maxlength": 3})
        self.fields["description"].widget.attrs["rows"] = 3


class ContactForm(RecordForm):
    model = Contact
    field_names = CONTACT_FIELDS

    def customize_fields(self) -> None:
        self.fields["company"] = forms.ModelChoiceField(
            label=_("Company"),
            queryset=Company.objects.all(),
            required=False,
            widget=LookupSelect("contacts:company_lookup"),
        )
        self.fields["birthday"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["timezone"].widget = forms.Select(choices=[("", "—"), *TIMEZONE_CHOICES])
        for name in LIST_FIELDS:
            self.fields[name] = CommaListField(
                label=self.fields[name].label,
                required=False,
                help_text=_("Separate several with commas."),
            )


# Emails, phones, addresses and social profiles: one formset each -----------------------
# Each "kind" starts at its first choice, so an untouched blank row counts as unchanged
# and is skipped.


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    kind = forms.ChoiceField(label=_("Kind"), choices=EmailKind.choices, initial=EmailKind.WORK)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class PhoneForm(forms.Form):
    number = forms.CharField(
        label=_("Phone number"), max_length=40, widget=forms.TextInput(attrs={"type": "tel"})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=PhoneKind.choices, initial=PhoneKind.WORK)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class AddressForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=AddressKind.choices, initial=AddressKind.OFFICE
    )
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("Two letters, e.g. DE.")
    )


class SocialProfileForm(forms.Form):
    network = forms.ChoiceField(
        label=_("Network"), choices=SocialNetwork.choices, initial=SocialNetwork.LINKEDIN
    )
    url = forms.URLField(label=_("Profile address"), max_length=300, assume_scheme="https")


EmailFormSet = formset_factory(EmailForm, extra=1, can_delete=True)
PhoneFormSet = formset_factory(PhoneForm, extra=1, can_delete=True)
AddressFormSet = formset_factory(AddressForm, extra=1, can_delete=True)
SocialProfileFormSet = formset_factory(SocialProfileForm, extra=1, can_delete=True)

# The formsets of each record type: (service argument = formset prefix, class, title).
COMPANY_FORMSETS = (
    ("phones", PhoneFormSet, _("Phones")),
    ("addresses", AddressFormSet, _("Addresses")),
    ("social_profiles", SocialProfileFormSet, _("Social profiles")),
)
CONTACT_FORMSETS = (
    ("emails", EmailFormSet, _("Emails")),
    *COMPANY_FORMSETS,
)
FORMSET_FIELDS = {
    "emails": ("email", "kind", "is_primary"),
    "phones": ("number", "kind", "is_primary"),
    "addresses": ("kind", "street", "postal_code", "city", "region", "country"),
    "social_profiles": ("network", "url"),
}


class Channels:
    """The formsets of a record's emails, phones, addresses and social profiles."""

    def __init__(
        self,
        definitions: Sequence[tuple[str, type[forms.BaseFormSet], Any]],
        data: Any = None,
        instance: models.Model | None = None,
    ) -> None:
        self.formsets = []
        for prefix, formset_class, title in definitions:
            initial = self.initial_for(instance, prefix) if instance is not None else None
            formset = formset_class(data, prefix=prefix, initial=initial)
            formset.title = title
            self.formsets.append(formset)

    @staticmethod
    def initial_for(instance: models.Model, prefix: str) -> list[dict[str, Any]]:
        return [
            {name: getattr(row, name) for name in FORMSET_FIELDS[prefix]}
            for row in getattr(instance, prefix).all()
        ]

    def __iter__(self):
        return iter(self.formsets)

    def is_valid(self) -> bool:
        return all([formset.is_valid() for formset in self.formsets])

    def values(self) -> dict[str, list[dict[str, Any]]]:
        """Each formset's kept rows, as the ``emails=``, ``phones=``… of the services."""
        return {
            formset.prefix: [
                {name: form.cleaned_data[name] for name in FORMSET_FIELDS[formset.prefix]}
                for form in formset.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")
            ]
            for formset in self.formsets
        }

    def apply_errors(self, form: forms.Form, error: ValidationError) -> None:
        """Show a service error about ``emails``, ``phones.1.number``… on its formset,
        and every other one on ``form``."""
        if not hasattr(error, "error_dict"):
            apply_service_errors(form, error)
            return
        rest: dict[str, list[str]] = {}
        by_prefix = {formset.prefix: formset for formset in self.formsets}
        for name, messages in error.message_dict.items():
            prefix, _dot, detail = name.partition(".")
            formset = by_prefix.get(prefix)
            if formset is None:
                rest[name] = messages
                continue
            index, _dot, field = detail.partition(".")
            target = _formset_form(formset, index)
            for message in messages:
                if target is not None:
                    target.add_error(field if field in target.fields else None, message)
                else:
                    formset.non_form_errors().append(message)
        if rest:
            apply_service_errors(form, ValidationError(rest))


def _formset_form(formset: forms.BaseFormSet, index: str) -> forms.Form | None:
    """The ``index``-th kept form of ``formset`` (services count the rows they received)."""
    if not index.isdigit():
        return None
    kept = [
        form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    position = int(index)
    return kept[position] if position < len(kept) else None


# List pages: bulk actions and saved views --------------------------------------------


class BulkAction(models.TextChoices):
    ASSIGN_OWNER = "assign_owner", _("Assign owner")
    ADD_TAG = "add_tag", _("Add tag")
    REMOVE_TAG = "remove_tag", _("Remove tag")
    ADD_TO_LIST = "add_to_list", _("Add to list")
    MERGE = "merge", _("Merge two")
    EXPORT = "export", _("Export to CSV")
    EXPORT_VCARD = "export_vcard", _("Export to vCard")
    DELETE = "delete", _("Delete")


class BulkScope(models.TextChoices):
    SELECTED = "selected", _("Selected rows")
    FILTERED = "filtered", _("All rows matching the filters")


# Actions that work on the rows ticked, whatever the scope says.
SELECTION_ONLY = frozenset({BulkAction.MERGE})


class IdListField(forms.Field):
    """Any number of record ids, as the row checkboxes post them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return list(dict.fromkeys(int(item) for item in value))
        except (TypeError, ValueError):
            raise ValidationError(_("The selection is not valid.")) from None


EXPORT_FORMATS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("jsonl", "JSON Lines")]


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=BulkAction.choices)
    ids = IdListField(label=_("Selected rows"), required=False)
    owner = PersonChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)
    static_list = forms.ModelChoiceField(
        label=_("List"), queryset=StaticList.objects.none(), required=False
    )
    scope = forms.ChoiceField(
        label=_("Apply to"),
        choices=BulkScope.choices,
        initial=BulkScope.SELECTED,
        required=False,
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)
    export_format = forms.ChoiceField(
        label=_("Format"), choices=EXPORT_FORMATS, initial="csv", required=False
    )

    def __init__(
        self,
        *args: Any,
        actions: Sequence[str],
        lists: models.QuerySet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            choice for choice in BulkAction.choices if choice[0] in actions
        ]
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "email"
        )
        if lists is None:
            del self.fields["static_list"]
        else:
            self.fields["static_list"].queryset = lists

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        needs = {
            BulkAction.ASSIGN_OWNER: "owner",
            BulkAction.ADD_TAG: "tag",
            BulkAction.REMOVE_TAG: "tag",
            BulkAction.ADD_TO_LIST: "static_list",
        }.get(action)
        if needs and not data.get(needs):
            self.add_error(needs, _("Choose one for this action."))
        if not data.get("ids") and not self.all_matching:
            raise ValidationError(_("Select at least one row."))
        if action == BulkAction.MERGE and len(data.get("ids") or []) != 2:
            raise ValidationError(_("Select exactly two rows to merge."))
        return data

    @property
    def all_matching(self) -> bool:
        """The action is for every row the filters match, not only the rows ticked."""
        data = getattr(self, "cleaned_data", {})
        return data.get("scope") == BulkScope.FILTERED and data.get("action") not in SELECTION_ONLY


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)


class SavedViewEditForm(forms.Form):
    """Rename a saved view, or share or unshare it."""

    name = forms.CharField(
        label=_("Name"), max_length=100, error_messages={"required": _("Give the view a name.")}
    )
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)


class SavedViewQueryForm(forms.Form):
    """The list page's query string, to replace a saved view's filters, columns and sort."""

    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)


# Merge -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeField:
    """A field whose values differ between two records being merged."""

    key: str  # as the merge services name it: ``job_title``, ``custom.tier``
    label: str
    first_shown: str
    second_shown: str
    # The first record's value is blank: keeping the second's is the likelier choice.
    second_preferred: bool


class MergeForm(forms.Form):
    """Which record survives, and for each field where the two differ, whose value."""

    def __init__(
        self,
        *args: Any,
        first: models.Model,
        second: models.Model,
        fields: Sequence[MergeField],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        records = [(str(first.pk), str(first)), (str(second.pk), str(second))]
        self.fields["winner"] = forms.ChoiceField(
            label=_("Keep"), choices=records, initial=str(first.pk), widget=forms.RadioSelect
        )
        self.keys = [field.key for field in fields]
        for index, field in enumerate(fields):
            self.fields[f"field_{index}"] = forms.ChoiceField(
                label=field.label,
                choices=[(str(first.pk), field.first_shown), (str(second.pk), field.second_shown)],
                initial=str(second.pk if field.second_preferred else first.pk),
                required=False,
                widget=forms.RadioSelect,
            )

    def field_rows(self) -> list[forms.BoundField]:
        return [self[f"field_{index}"] for index in range(len(self.keys))]

    def choices(self) -> dict[str, str]:
        """``{field: "winner" | "loser"}``, as the merge services take them; a field left
        unchosen keeps the surviving record's value."""
        winner = self.cleaned_data["winner"]
        return {
            key: "winner" if self.cleaned_data[f"field_{index}"] == winner else "loser"
            for index, key in enumerate(self.keys)
            if self.cleaned_data[f"field_{index}"]
        }


class SureMergeForm(forms.Form):
    """The threshold of "Merge all sure pairs"."""

    min_confidence = forms.IntegerField(
        label=_("Merge the pairs of this confidence or more"),
        min_value=LOWEST_SURE,
        max_value=100,
        initial=SURE,
    )


# Tags and static lists -----------------------------------------------------------------


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    color = forms.RegexField(
        label=_("Colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#64748b",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": _("Choose a colour such as #3366cc.")},
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class StaticListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), max_length=300, required=False, widget=forms.Textarea
    )
