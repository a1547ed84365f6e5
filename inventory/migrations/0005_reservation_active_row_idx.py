from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_network_availability"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["location", "variant", "expires_at"],
                name="reservation_active_row_idx",
            ),
        ),
    ]
