"""Segment members for e-mail marketing, exported with django-import-export.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula; a customer who typed ``=HYPERLINK(...)`` as a name must not get a
formula into the marketing team's workbook, so such values are written with
a leading apostrophe (the usual neutralisation, shown as text).
"""

from __future__ import annotations

from import_export import fields, resources

from customers.models import Customer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SegmentMemberResource(resources.ModelResource):
    order_count = fields.Field(attribute="order_count", column_name="orders")
    revenue = fields.Field(attribute="revenue", column_name="revenue")
    last_order = fields.Field(attribute="last_order", column_name="last_order")

    class Meta:
        model = Customer
        fields = ["id", "first_name", "last_name", "email", "phone", "order_count", "revenue", "last_order"]
        export_order = fields

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))
