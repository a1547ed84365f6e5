"""The dashboards' filters: period, channel, store and granularity, read from the query string."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kpis.selectors import GRANULARITIES, MAX_DAYS, Scope
from omni.catalog.models import Channel, Location, LocationKind


def last_month() -> tuple[date, date]:
    first_of_this = timezone.localdate().replace(day=1)
    end = first_of_this - timedelta(days=1)
    return end.replace(day=1), end


class DashboardFilters(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("pk"),
        to_field_name="code",
        required=False,
        empty_label=_("All channels"),
        label=_("Channel"),
    )
    store = forms.ModelChoiceField(
        queryset=Location.objects.filter(kind=LocationKind.STORE).order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("All stores"),
        label=_("Store"),
    )
    granularity = forms.ChoiceField(
        choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))], initial="day", label=_("Granularity")
    )

    @classmethod
    def from_query(cls, query) -> DashboardFilters:
        """Bound to the query string, with last month and daily figures where nothing is given."""
        start, end = last_month()
        data = {"start": start.isoformat(), "end": end.isoformat(), "granularity": "day"}
        data.update({key: value for key, value in query.items() if key in cls.base_fields and value != ""})
        return cls(data)

    def clean(self):
        data = super().clean()
        start, end, granularity = data.get("start"), data.get("end"), data.get("granularity")
        if start and end:
            if end < start:
                self.add_error("end", _("Must be on or after the start."))
            elif granularity in GRANULARITIES and (end - start).days + 1 > MAX_DAYS[granularity]:
                self.add_error("end", _("Too long for this granularity: choose weeks or months."))
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data
        return Scope(start=data["start"], end=data["end"], channel=data.get("channel"), location=data.get("store"))
