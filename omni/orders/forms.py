"""The endless-aisle form: a store sells what it does not have, from the network's stock."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from omni.catalog.models import Location, LocationKind, Variant
from omni.orders.models import FulfilmentType, Order, OrderLine, Tender

AISLE_FULFILMENTS = [
    (FulfilmentType.SHIP_TO_HOME, _("Ship to the customer's home")),
    (FulfilmentType.SHIP_TO_STORE, _("Ship to this store for pick-up")),
    (FulfilmentType.CLICK_AND_COLLECT, _("Hold at this store (it has some after all)")),
]


class EndlessAisleForm(forms.Form):
    store = forms.ModelChoiceField(
        queryset=Location.objects.filter(kind=LocationKind.STORE, is_active=True),
        label=_("Your store"),
        widget=AutocompleteSelect(Order._meta.get_field("location"), admin.site),
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True),
        label=_("Customer"),
        required=False,
        help_text=_("Type the card, phone, e-mail or name; empty for a walk-in customer."),
        widget=AutocompleteSelect(Order._meta.get_field("customer"), admin.site),
    )
    item = forms.ModelChoiceField(
        queryset=Variant.objects.all(),
        label=_("Item"),
        required=False,
        help_text=_("Type the SKU or the product's name."),
        widget=AutocompleteSelect(OrderLine._meta.get_field("variant"), admin.site),
    )
    sku = forms.CharField(
        label=_("or scan the SKU"),
        max_length=64,
        required=False,
        help_text=_("A barcode scanner types it here."),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1)
    fulfilment = forms.ChoiceField(choices=AISLE_FULFILMENTS, label=_("How the customer gets it"))
    address = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    tender = forms.ChoiceField(choices=Tender.choices, label=_("Paid by"), initial=Tender.CARD)

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if sku and not Variant.objects.filter(sku=sku).exists():
            raise forms.ValidationError(_("No variant with this SKU."))
        return sku

    def clean_customer(self) -> int | None:
        """The customer's number, as the view expects it."""
        customer = self.cleaned_data.get("customer")
        return customer.pk if customer is not None else None

    def clean(self):
        data = super().clean()
        item = data.get("item")
        if item is not None:
            data["sku"] = item.sku  # the picked item wins over a stale scan
        elif not data.get("sku") and "sku" not in self.errors:
            raise forms.ValidationError(_("Choose the item, or scan or type its SKU."))
        if data.get("fulfilment") == FulfilmentType.SHIP_TO_HOME and not (data.get("address") and data.get("city")):
            raise forms.ValidationError(_("Shipping to home needs the street and the city."))
        return data

    def address_dict(self) -> dict:
        data = self.cleaned_data
        if data["fulfilment"] != FulfilmentType.SHIP_TO_HOME:
            return {}
        return {"line1": data["address"], "postcode": data["postcode"], "city": data["city"], "country": "IT"}
