"""The endless-aisle form: a store sells what it does not have, from the network's stock."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from customers.models import CONSENT_WORDING, ConsentPurpose, Customer
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


# --- The counter basket ---------------------------------------------------------------------------------------

BASKET_DELIVERIES = [
    (FulfilmentType.CARRY_OUT, _("Takes it now")),
    (FulfilmentType.SHIP_TO_HOME, _("Ship to the customer's home")),
    (FulfilmentType.SHIP_TO_STORE, _("Ship to this store for pick-up")),
]
BASKET_ROWS = 6
MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0, "required": False}


class BasketLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1, required=False)
    delivery = forms.ChoiceField(choices=BASKET_DELIVERIES, label=_("How the customer gets it"))

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        if sku and not Variant.objects.filter(sku=sku).exists():
            raise forms.ValidationError(_("No variant with this SKU."))
        return sku


BasketLineFormSet = forms.formset_factory(BasketLineForm, extra=BASKET_ROWS, max_num=BASKET_ROWS)


class BasketForm(forms.Form):
    """Everything but the lines: the store, the customer (found or enrolled), the address, the tenders."""

    store = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("Your store"))
    find = forms.CharField(
        label=_("Find the customer"),
        max_length=100,
        required=False,
        help_text=_("Card, phone, e-mail or name; empty for a walk-in customer."),
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True),
        required=False,
        widget=forms.HiddenInput,
    )
    enrol = forms.BooleanField(label=_("Enrol a new customer with this sale"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    card = forms.CharField(label=_("Loyalty card"), max_length=64, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    street = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    sell_gift_card = forms.DecimalField(label=_("Sell a gift card of"), **MONEY)
    points = forms.IntegerField(label=_("Points to redeem"), min_value=0, required=False)
    store_credit = forms.DecimalField(label=_("Store credit"), **MONEY)
    gift_card_code = forms.CharField(label=_("Gift card code"), max_length=40, required=False)
    gift_card = forms.DecimalField(label=_("Paid with the gift card"), **MONEY)
    paid_card = forms.DecimalField(label=_("Paid by card"), **MONEY)
    paid_cash = forms.DecimalField(label=_("Paid in cash"), **MONEY)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        for purpose in ConsentPurpose.values:
            self.fields[f"consent_{purpose}"] = forms.BooleanField(
                label=CONSENT_WORDING[ConsentPurpose(purpose)], required=False
            )

    def consent_fields(self):
        return [self[f"consent_{purpose}"] for purpose in ConsentPurpose.values]

    def clean(self):
        data = super().clean()
        if data.get("gift_card") and not data.get("gift_card_code"):
            self.add_error("gift_card_code", _("Type or scan the code of the gift card that pays."))
        if data.get("enrol") and not (data.get("first_name") and data.get("last_name") and data.get("card")):
            raise forms.ValidationError(_("To enrol the customer, give the first name, the last name and the card."))
        return data

    def address(self) -> dict[str, str]:
        data = self.cleaned_data
        if not data.get("street"):
            return {}
        return {"line1": data["street"], "postcode": data["postcode"], "city": data["city"], "country": "IT"}

    def consents(self) -> dict[str, bool]:
        return {purpose: self.cleaned_data.get(f"consent_{purpose}", False) for purpose in ConsentPurpose.values}

    def wording(self) -> dict[str, str]:
        return {purpose: str(CONSENT_WORDING[ConsentPurpose(purpose)]) for purpose in ConsentPurpose.values}
