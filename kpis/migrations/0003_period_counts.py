"""Distinct counts of finished periods (`PeriodCount`); named reverse relations on the buyer and visitor
rollups so that merging two customers moves their rows; an index that reads a range's buyers in customer
order. Existing periods are counted by the next rebuild of their days (or `services.count_periods`); until
then they are counted live, as before."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_staff_assignment"),
        ("customers", "0003_segments"),
        ("kpis", "0002_visitor_key_as_integer"),
    ]

    operations = [
        migrations.CreateModel(
            name="PeriodCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("granularity", models.CharField(max_length=5, verbose_name="granularity")),
                ("start", models.DateField(verbose_name="first day")),
                ("visitors", models.IntegerField(default=0, verbose_name="visitors")),
                ("buyers", models.IntegerField(default=0, verbose_name="buyers")),
                ("omnichannel_buyers", models.IntegerField(default=0, verbose_name="omnichannel buyers")),
            ],
            options={
                "verbose_name": "period count",
                "verbose_name_plural": "period counts",
            },
        ),
        migrations.AlterField(
            model_name="buyerday",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="kpis_buyer_days",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AlterField(
            model_name="visitorday",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="kpis_visitor_days",
                to="customers.customer",
            ),
        ),
        migrations.AddIndex(
            model_name="buyerday",
            index=models.Index(fields=["customer", "day", "channel", "location"], name="kpis_buyerday_buyer_idx"),
        ),
        migrations.AddField(
            model_name="periodcount",
            name="channel",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="catalog.channel",
                verbose_name="channel",
            ),
        ),
        migrations.AddField(
            model_name="periodcount",
            name="location",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="catalog.location",
                verbose_name="location",
            ),
        ),
        migrations.AddIndex(
            model_name="periodcount",
            index=models.Index(fields=["granularity", "start"], name="kpis_periodcount_idx"),
        ),
    ]
