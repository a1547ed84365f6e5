"""A fresh installation has a working programme, so the first order earns points."""

from decimal import Decimal

from django.db import migrations

TIERS = [
    ("base", "Base", Decimal("0"), Decimal("1")),
    ("silver", "Silver", Decimal("500"), Decimal("1.25")),
    ("gold", "Gold", Decimal("1500"), Decimal("1.5")),
]


def create_defaults(apps, schema_editor):
    Programme = apps.get_model("loyalty", "Programme")
    Tier = apps.get_model("loyalty", "Tier")
    if not Programme.objects.exists():
        Programme.objects.create(
            name="Omni Club",
            points_per_euro=Decimal("1"),
            point_value=Decimal("0.01"),
            points_valid_days=730,
            tier_window_days=365,
        )
    for code, name, min_spend, multiplier in TIERS:
        Tier.objects.get_or_create(
            code=code, defaults={"name": name, "min_spend": min_spend, "earn_multiplier": multiplier}
        )


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
