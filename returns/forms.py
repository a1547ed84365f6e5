"""The clerk's return form: find the order, tick lines and quantities, pick reason and condition."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from omni.catalog.models import Location
from returns.models import Condition, RefundTarget, Return, ReturnReason
from returns.selectors import ReturnableLine
from returns.services import ReturnLineIn


class FindOrderForm(forms.Form):
    order = forms.CharField(
        label=_("Order number"), max_length=32, required=False, help_text=_("As printed on the receipt or the e-mail.")
    )
    customer = forms.CharField(
        label=_("…or the customer"),
        max_length=200,
        required=False,
        help_text=_("Card number, e-mail, phone or last name: their recent orders are listed."),
    )


class ReturnForm(forms.Form):
    """One quantity, reason and condition per order line, plus where it is received and how it is refunded."""

    location = forms.ModelChoiceField(
        label=_("Received at"),
        queryset=Location.objects.none(),
        widget=AutocompleteSelect(Return._meta.get_field("location"), admin.site),
    )
    refund_to = forms.ChoiceField(label=_("Refund to"), choices=RefundTarget.choices, initial=RefundTarget.ORIGINAL)

    def __init__(self, *args, lines: list[ReturnableLine], locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["location"].queryset = locations
        reasons = [(r.code, str(r)) for r in ReturnReason.objects.filter(is_active=True)]
        for line in lines:
            key = line.line.pk
            self.fields[f"qty_{key}"] = forms.IntegerField(
                label=line.sku, min_value=0, max_value=line.returnable, initial=0, required=False
            )
            self.fields[f"reason_{key}"] = forms.ChoiceField(label=_("reason"), choices=reasons, required=False)
            self.fields[f"condition_{key}"] = forms.ChoiceField(
                label=_("condition"), choices=Condition.choices, initial=Condition.RESELLABLE
            )

    def rows(self):
        """(line, quantity field, reason field, condition field) for the template's table."""
        return [
            (line, self[f"qty_{line.line.pk}"], self[f"reason_{line.line.pk}"], self[f"condition_{line.line.pk}"])
            for line in self.lines
        ]

    def clean(self):
        data = super().clean()
        if not self.return_lines():
            raise forms.ValidationError(_("Give a quantity for at least one line."))
        return data

    def return_lines(self) -> list[ReturnLineIn]:
        chosen = []
        for line in self.lines:
            key = line.line.pk
            quantity = self.cleaned_data.get(f"qty_{key}") or 0
            if quantity > 0:
                chosen.append(
                    ReturnLineIn(
                        sku=line.sku,
                        quantity=quantity,
                        reason=self.cleaned_data.get(f"reason_{key}") or "",
                        condition=self.cleaned_data.get(f"condition_{key}") or Condition.RESELLABLE,
                    )
                )
        return chosen
