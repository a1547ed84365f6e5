"""The default programme and tiers, so the first order of a new installation earns points.

Made by a data migration, and again after a test database is flushed.
"""

from decimal import Decimal

TIERS = [
    ("base", "Base", Decimal("0"), Decimal("1")),
    ("silver", "Silver", Decimal("500"), Decimal("1.25")),
    ("gold", "Gold", Decimal("1500"), Decimal("1.5")),
]


def ensure_programme(**kwargs) -> None:
    from loyalty.models import Programme, Tier

    if not Programme.objects.exists():
        Programme.objects.create()
    if not Tier.objects.exists():
        for code, name, min_spend, multiplier in TIERS:
            Tier.objects.create(code=code, name=name, min_spend=min_spend, earn_multiplier=multiplier)
