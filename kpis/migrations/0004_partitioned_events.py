"""Touchpoint events partitioned by month of `occurred_at` on PostgreSQL (plain on SQLite).

A partitioned table cannot keep a unique index on `event_id` alone, so the
ids seen move to `EventKey` (filled here from the events already stored)
before the table is converted. See omni.partitioning for the primary key.
"""

from django.db import migrations, models

from omni import partitioning

TABLE = "kpis_touchpointevent"


def partition(apps, schema_editor):
    partitioning.partition_table(schema_editor, TABLE)


def unpartition(apps, schema_editor):
    partitioning.unpartition_table(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0003_period_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventKey",
            fields=[
                (
                    "event_id",
                    models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name="event id"),
                ),
                ("occurred_at", models.DateTimeField(db_index=True, verbose_name="occurred at")),
            ],
            options={
                "verbose_name": "event id seen",
                "verbose_name_plural": "event ids seen",
            },
        ),
        migrations.RunSQL(
            "INSERT INTO kpis_eventkey (event_id, occurred_at) "
            "SELECT event_id, min(occurred_at) FROM kpis_touchpointevent GROUP BY event_id",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="touchpointevent",
            name="event_id",
            field=models.CharField(db_index=True, max_length=64, verbose_name="event id"),
        ),
        migrations.RunPython(partition, unpartition),
    ]
