"""customers_latest_consent(customer, purpose): a customer's latest choice of a purpose, on PostgreSQL.

identify calls it on the customer row it has just locked, to read the consent a receipt needs in the same trip;
declared VOLATILE, it reads in a snapshot taken when it is called, after the lock (customers.selectors,
LATEST_CONSENT_FUNCTION). Its query is `consent_granted`'s, which a test compares with this text. SQLite needs
none: the same read is a subquery there.
"""

from django.db import migrations

CREATE = (
    "CREATE OR REPLACE FUNCTION customers_latest_consent(customer bigint, purpose text) RETURNS boolean "
    "LANGUAGE sql VOLATILE AS $body$"
    'SELECT "is_granted" FROM "customers_consentchange" WHERE "customer_id" = $1 AND "purpose" = $2 '
    'ORDER BY "changed_at" DESC, "id" DESC LIMIT 1'
    "$body$"
)
DROP = "DROP FUNCTION IF EXISTS customers_latest_consent(bigint, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_imported_customers_and_import_permission")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
