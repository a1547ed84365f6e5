"""Customers recorded before identifiers and profile filled each other get the same treatment once.

- A blank profile `email` or `phone` takes the customer's e-mail or phone identifier (a verified one
  first, then the oldest).
- A profile e-mail or phone that no customer holds as an identifier becomes an unverified identifier.
Merged-away and erased customers are left as they are.
"""

from django.db import migrations

KINDS = {"email": "email", "phone": "phone"}  # identifier kind -> profile field
BATCH = 2000


def fill(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Identifier = apps.get_model("customers", "Identifier")
    live = Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)

    for kind, name in KINDS.items():
        blank = live.filter(**{name: ""}, identifiers__kind=kind).distinct()
        best: dict[int, str] = {}
        rows = Identifier.objects.filter(kind=kind, customer__in=blank).order_by("-is_verified", "pk")
        for customer_id, value in rows.values_list("customer_id", "value").iterator(chunk_size=BATCH):
            best.setdefault(customer_id, value)
        changed = []
        for customer in Customer.objects.filter(pk__in=best).only("pk", name).iterator(chunk_size=BATCH):
            setattr(customer, name, best[customer.pk])
            changed.append(customer)
        Customer.objects.bulk_update(changed, [name], batch_size=BATCH)

    for kind, name in KINDS.items():
        held = Identifier.objects.filter(kind=kind).values("value")
        missing = live.exclude(**{name: ""}).exclude(**{f"{name}__in": held}).order_by("pk")
        new = [
            Identifier(customer_id=pk, kind=kind, value=value, is_verified=False)
            for pk, value in missing.values_list("pk", name).iterator(chunk_size=BATCH)
        ]
        # Two customers with the same profile value: the first keeps it as an identifier.
        Identifier.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_identifier_stand_in")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
