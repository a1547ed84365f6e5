"""The counter's enrolment form: the customer, their new card and their consents, in one form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import CONSENT_WORDING, ConsentPurpose
from customers.normalise import normalise_phone
from omni.catalog.models import Location
from omni.errors import Invalid


class EnrolmentForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("Your store"))
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    card = forms.CharField(
        label=_("Loyalty card"), max_length=64, help_text=_("Scan the new card, or type the number printed on it.")
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        for purpose in ConsentPurpose.values:
            self.fields[f"consent_{purpose}"] = forms.BooleanField(
                label=CONSENT_WORDING[ConsentPurpose(purpose)], required=False
            )

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone:
            try:
                normalise_phone(phone)
            except Invalid:
                raise forms.ValidationError(_("Not a phone number: write it as 333 123 4567 or +39 333 123 4567."))
        return phone

    def consent_fields(self):
        return [self[f"consent_{purpose}"] for purpose in ConsentPurpose.values]

    def consents(self) -> dict[str, bool]:
        return {purpose: self.cleaned_data[f"consent_{purpose}"] for purpose in ConsentPurpose.values}

    def wording(self) -> dict[str, str]:
        """The consents' text as the form showed it, in the clerk's language."""
        return {purpose: str(CONSENT_WORDING[ConsentPurpose(purpose)]) for purpose in ConsentPurpose.values}
