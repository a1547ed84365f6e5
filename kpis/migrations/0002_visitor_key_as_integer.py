"""Anonymous visitors in the visitor rollup: a 64-bit key instead of the device or session text.

Existing rows get the key of their text (the same function the rollup uses),
so no day needs rebuilding.
"""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    from kpis.rollups import visitor_key

    VisitorDay = apps.get_model("kpis", "VisitorDay")
    anonymous = VisitorDay.objects.filter(customer__isnull=True).exclude(visitor="")
    batch = []
    for row in anonymous.only("pk", "visitor").iterator(chunk_size=5000):
        row.visitor_key = visitor_key(row.visitor)
        batch.append(row)
        if len(batch) == 5000:
            VisitorDay.objects.bulk_update(batch, ["visitor_key"])
            batch = []
    if batch:
        VisitorDay.objects.bulk_update(batch, ["visitor_key"])


class Migration(migrations.Migration):
    dependencies = [("kpis", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="visitorday",
            name="visitor_key",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="device or session key"),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="visitorday", name="visitor"),
    ]
