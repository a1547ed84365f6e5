"""The default return reasons and a return policy per channel.

Made by a data migration, and again after a test database is flushed
(post_migrate), so a fresh database can take a return at once.
"""

REASONS = [
    ("wrong_size", "Wrong size"),
    ("damaged", "Damaged or faulty"),
    ("not_as_described", "Not as described"),
    ("changed_mind", "Changed mind"),
    ("late_delivery", "Arrived too late"),
]


def ensure_defaults(**kwargs) -> None:
    from omni.catalog.models import Channel
    from returns.models import DEFAULT_WINDOW_DAYS, ReturnPolicy, ReturnReason

    if not ReturnReason.objects.exists():
        for position, (code, label) in enumerate(REASONS):
            ReturnReason.objects.create(code=code, label=label, position=position)
    missing = Channel.objects.filter(return_policy__isnull=True)
    ReturnPolicy.objects.bulk_create([ReturnPolicy(channel=c, window_days=DEFAULT_WINDOW_DAYS) for c in missing])
