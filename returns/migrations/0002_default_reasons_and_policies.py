"""Every database starts with the usual return reasons and a 30-day window on each channel."""

from django.db import migrations

REASONS = [
    ("wrong_size", "Wrong size"),
    ("damaged", "Damaged or faulty"),
    ("not_as_described", "Not as described"),
    ("changed_mind", "Changed mind"),
    ("late_delivery", "Arrived too late"),
]


def create_defaults(apps, schema_editor):
    ReturnReason = apps.get_model("returns", "ReturnReason")
    ReturnPolicy = apps.get_model("returns", "ReturnPolicy")
    Channel = apps.get_model("catalog", "Channel")
    for position, (code, label) in enumerate(REASONS):
        ReturnReason.objects.get_or_create(code=code, defaults={"label": label, "position": position})
    for channel in Channel.objects.all():
        ReturnPolicy.objects.get_or_create(channel=channel, defaults={"window_days": 30})


class Migration(migrations.Migration):
    dependencies = [
        ("returns", "0001_initial"),
        ("catalog", "0002_the_six_channels"),
    ]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
