"""The default return reasons and a return policy per channel.

Made by a data migration, and again after a test database is flushed
(post_migrate), so a fresh database can take a return at once.
"""

from django.utils.translation import gettext_lazy as _

REASONS = [
    ("wrong_size", "Wrong size"),
    ("damaged", "Damaged or faulty"),
    ("not_as_described", "Not as described"),
    ("changed_mind", "Changed mind"),
    ("late_delivery", "Arrived too late"),
]

# The default reasons in the staff's language; a reason added in the admin shows the label typed there.
REASON_LABELS = {
    "wrong_size": _("Wrong size"),
    "damaged": _("Damaged or faulty"),
    "not_as_described": _("Not as described"),
    "changed_mind": _("Changed mind"),
    "late_delivery": _("Arrived too late"),
}


def reason_label(code: str, stored: str) -> str:
    """A return reason as staff read it: the default reasons translated, others as typed in the admin."""
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else stored


def ensure_defaults(**kwargs) -> None:
    from omni.catalog.models import Channel
    from returns.models import DEFAULT_WINDOW_DAYS, ReturnPolicy, ReturnReason

    if not ReturnReason.objects.exists():
        for position, (code, label) in enumerate(REASONS):
            ReturnReason.objects.create(code=code, label=label, position=position)
    missing = Channel.objects.filter(return_policy__isnull=True)
    ReturnPolicy.objects.bulk_create([ReturnPolicy(channel=c, window_days=DEFAULT_WINDOW_DAYS) for c in missing])
