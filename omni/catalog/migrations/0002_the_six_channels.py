"""Every database has the six channels of DESIGN.md."""

from django.db import migrations

CHANNELS = [
    ("store", "Negozio"),
    ("web", "Sito e-commerce"),
    ("app", "App"),
    ("call_center", "Call center"),
    ("marketplace", "Marketplace"),
    ("social", "Social"),
]


def create_channels(apps, schema_editor):
    Channel = apps.get_model("catalog", "Channel")
    for code, name in CHANNELS:
        Channel.objects.get_or_create(code=code, defaults={"name": name, "currency": "EUR"})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create_channels, migrations.RunPython.noop)]
