"""The endless-aisle form: a store sells what it does not have, from the network's stock."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from omni.catalog.models import Location, LocationKind, Variant
from omni.orders.models import FulfilmentType, Tender

AISLE_FULFILMENTS = [
    (FulfilmentType.SHIP_TO_HOME, _("Ship to the customer's home")),
    (FulfilmentType.SHIP_TO_STORE, _("Ship to this store for pick-up")),
    (FulfilmentType.CLICK_AND_COLLECT, _("Hold at this store (it has some after all)")),
]


class EndlessAisleForm(forms.Form):
    store = forms.ModelChoiceField(
        queryset=Location.objects.filter(kind=LocationKind.STORE, is_active=True), label=_("Your store")
    )
    customer = forms.IntegerField(
        label=_("Customer number"),
        required=False,
        min_value=1,
        help_text=_("Find the customer first (search by card, phone or e-mail); empty for a walk-in customer."),
    )
    sku = forms.CharField(label=_("SKU"), max_length=64)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1)
    fulfilment = forms.ChoiceField(choices=AISLE_FULFILMENTS, label=_("How the customer gets it"))
    address = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    tender = forms.ChoiceField(choices=Tender.choices, label=_("Paid by"), initial=Tender.CARD)

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if not Variant.objects.filter(sku=sku).exists():
            raise forms.ValidationError(_("No variant with this SKU."))
        return sku

    def clean_customer(self):
        pk = self.cleaned_data.get("customer")
        if pk and not Customer.objects.filter(pk=pk).exists():
            raise forms.ValidationError(_("No customer with this number."))
        return pk

    def clean(self):
        data = super().clean()
        if data.get("fulfilment") == FulfilmentType.SHIP_TO_HOME and not (data.get("address") and data.get("city")):
            raise forms.ValidationError(_("Shipping to home needs the street and the city."))
        return data

    def address_dict(self) -> dict:
        data = self.cleaned_data
        if data["fulfilment"] != FulfilmentType.SHIP_TO_HOME:
            return {}
        return {"line1": data["address"], "postcode": data["postcode"], "city": data["city"], "country": "IT"}
