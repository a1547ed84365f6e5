"""The reference rows every database has: the six channels.

Made by a data migration, and made again after a test database is flushed
(post_migrate runs after `flush`), so they are always there.
"""

CHANNELS = [
    ("store", "Negozio"),
    ("web", "Sito e-commerce"),
    ("app", "App"),
    ("call_center", "Call center"),
    ("marketplace", "Marketplace"),
    ("social", "Social"),
]


def ensure_channels(**kwargs) -> None:
    from omni.catalog.models import Channel

    for code, name in CHANNELS:
        Channel.objects.get_or_create(code=code, defaults={"name": name, "currency": "EUR"})


def channel_label(code: str) -> str:
    """A channel's name in the active language ("Negozio", "Store"); an unknown code is shown as it is."""
    from omni.catalog.models import ChannelCode

    return str(ChannelCode(code).label) if code in ChannelCode.values else code
