"""How many people each range's days count for the first time since its first day (`SeenSpanCount`), counted
from the rollup rows already there, so that any range (a month begun in the middle, one ending before the last
day rolled up) counts its distinct visitors and buyers from summed rows."""

from django.db import migrations, models


def count_spans(apps, schema_editor):
    # The rule itself (plain SQL over the rollup tables), so the rows match what the rollups keep from now on.
    from kpis.rollups import recount_spans

    for kind in ("v", "b"):
        recount_spans(kind)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0005_last_seen"),
    ]

    operations = [
        migrations.CreateModel(
            name="SeenSpanCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("v", "Visitor"), ("b", "Buyer")], max_length=1, verbose_name="kind"),
                ),
                ("channel_id", models.BigIntegerField(verbose_name="channel (0: every channel)")),
                ("location_id", models.BigIntegerField(verbose_name="store (0: every store)")),
                ("day", models.DateField(verbose_name="day")),
                ("after_day", models.DateField(verbose_name="counted in ranges starting after")),
                ("upto_day", models.DateField(verbose_name="counted in ranges starting up to")),
                ("people", models.IntegerField(default=0, verbose_name="first seen in the range that day")),
                (
                    "omnichannel",
                    models.IntegerField(default=0, verbose_name="first on two channels in the range that day"),
                ),
            ],
            options={
                "verbose_name": "people first seen in a range on a day",
                "verbose_name_plural": "people first seen in a range on a day",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "channel_id", "location_id", "day", "after_day", "upto_day"),
                        name="kpis_seenspancount_key",
                    )
                ],
            },
        ),
        migrations.RunPython(count_spans, migrations.RunPython.noop),
    ]
