"""customers_latest_consent becomes a PL/pgSQL function: the same query, planned once per connection.

A LANGUAGE sql function that cannot be inlined plans its query again at every
statement that calls it: identify calls it once per sale, so every sale paid
that planning (about a quarter of a millisecond). PL/pgSQL keeps the plan of
its query for the session. It stays VOLATILE: its query still reads in a
snapshot taken when it runs, after the caller's lock (customers.selectors,
LATEST_CONSENT_FUNCTION). The parameters keep their names (a CREATE OR REPLACE
cannot rename them); the query names its columns, hence `use_column`.
"""

from django.db import migrations

QUERY = (
    'SELECT "is_granted" FROM "customers_consentchange" WHERE "customer_id" = $1 AND "purpose" = $2 '
    'ORDER BY "changed_at" DESC, "id" DESC LIMIT 1'
)
BODY = "#variable_conflict use_column\nBEGIN\n  RETURN ({query});\nEND"
CREATE = (
    "CREATE OR REPLACE FUNCTION customers_latest_consent(customer bigint, purpose text) RETURNS boolean "
    f"LANGUAGE plpgsql VOLATILE AS $body${BODY.format(query=QUERY)}$body$"
)
# Back to migration 0010's function.
SQL_FUNCTION = (
    "CREATE OR REPLACE FUNCTION customers_latest_consent(customer bigint, purpose text) RETURNS boolean "
    f"LANGUAGE sql VOLATILE AS $body${QUERY}$body$"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_latest_consent_function")]

    operations = [migrations.RunPython(create, back, elidable=False)]
