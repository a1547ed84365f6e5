"""The stock ledger partitioned by month of `created_at` on PostgreSQL (plain on SQLite).

No foreign key points at a stock movement, so the table can be partitioned
as it is; see omni.partitioning for the primary key.
"""

from django.db import migrations

from omni import partitioning

TABLE = "inventory_stockmovement"


def partition(apps, schema_editor):
    partitioning.partition_table(schema_editor, TABLE)


def unpartition(apps, schema_editor):
    partitioning.unpartition_table(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0005_reservation_active_row_idx"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition),
    ]
