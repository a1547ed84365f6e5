"""Order numbers from a counter of the database instead of random digits retried on collision.

PostgreSQL: a sequence (no lock, never handed out twice). SQLite: a one-row
counter; every SQLite transaction here takes the write lock when it begins
(IMMEDIATE), so two orders never read the same value.
"""

from django.db import migrations

SEQUENCE = "orders_order_number_seq"
COUNTER = "orders_order_number_counter"


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
        else:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {COUNTER} (id integer PRIMARY KEY, value integer NOT NULL)")
            cursor.execute(f"INSERT INTO {COUNTER} (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
        else:
            cursor.execute(f"DROP TABLE IF EXISTS {COUNTER}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_line_omni_unit_price"),
    ]

    operations = [migrations.RunPython(create, drop)]
