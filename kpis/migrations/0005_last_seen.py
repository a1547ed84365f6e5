"""Each visitor's and buyer's last day per scope (`LastSeen`) and how many were last seen on each day
(`SeenDayCount`), counted from the rollup rows already there, so that a range ending on the last day rolled up
counts its distinct visitors and buyers from a few rows; an index that finds an anonymous visitor's days."""

import django.db.models.deletion
from django.db import migrations, models


def count_last_seen(apps, schema_editor):
    # The rule itself (plain SQL over the rollup tables), so the rows match what the rollups keep from now on.
    from kpis.rollups import recount_last_seen

    for kind in ("v", "b"):
        recount_last_seen(kind)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_staff_assignment"),
        ("customers", "0009_imported_customers_and_import_permission"),
        ("kpis", "0004_partitioned_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="LastSeen",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("v", "Visitor"), ("b", "Buyer")], max_length=1, verbose_name="kind"),
                ),
                ("who", models.BigIntegerField(verbose_name="customer or visitor key")),
                ("last_day", models.DateField(verbose_name="last seen")),
                ("second_day", models.DateField(blank=True, null=True, verbose_name="last seen on two channels")),
            ],
            options={
                "verbose_name": "last seen",
                "verbose_name_plural": "last seen",
            },
        ),
        migrations.CreateModel(
            name="SeenDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("v", "Visitor"), ("b", "Buyer")], max_length=1, verbose_name="kind"),
                ),
                ("channel_id", models.BigIntegerField(verbose_name="channel (0: every channel)")),
                ("location_id", models.BigIntegerField(verbose_name="store (0: every store)")),
                ("day", models.DateField(verbose_name="day")),
                ("people", models.IntegerField(default=0, verbose_name="last seen that day")),
                ("omnichannel", models.IntegerField(default=0, verbose_name="of whom on two channels")),
            ],
            options={
                "verbose_name": "people last seen on a day",
                "verbose_name_plural": "people last seen on a day",
            },
        ),
        migrations.AddIndex(
            model_name="visitorday",
            index=models.Index(fields=["visitor_key"], name="kpis_visitorday_key_idx"),
        ),
        migrations.AddField(
            model_name="lastseen",
            name="channel",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="catalog.channel",
                verbose_name="channel",
            ),
        ),
        migrations.AddField(
            model_name="lastseen",
            name="location",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="catalog.location",
                verbose_name="location",
            ),
        ),
        migrations.AddConstraint(
            model_name="seendaycount",
            constraint=models.UniqueConstraint(
                fields=("kind", "channel_id", "location_id", "day"), name="kpis_seendaycount_key"
            ),
        ),
        migrations.AddIndex(
            model_name="lastseen",
            index=models.Index(fields=["kind", "who"], name="kpis_lastseen_who_idx"),
        ),
        migrations.RunPython(count_last_seen, migrations.RunPython.noop),
    ]
