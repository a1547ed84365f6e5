from django.db import migrations, models


def one_row(apps, schema_editor):
    apps.get_model("loyalty", "RulesVersion").objects.get_or_create(pk=1, defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0007_gift_cards"),
    ]

    operations = [
        migrations.CreateModel(
            name="RulesVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(one_row, migrations.RunPython.noop),
    ]
