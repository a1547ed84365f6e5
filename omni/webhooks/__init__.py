"""Webhooks: Omni tells the site what changed.

Apps publish inside their own transaction: ``webhooks.publish("order.status_changed", data)``.
"""

from typing import Any


def publish(event_type: str, data: Any, **kwargs: Any):
    """Shortcut for ``omni.webhooks.services.publish`` (imported late: this package loads before the models)."""
    from omni.webhooks.services import publish as publish_event

    return publish_event(event_type, data, **kwargs)


def publish_many(event_type: str, items: Any, **kwargs: Any):
    from omni.webhooks.services import publish_many as publish_events

    return publish_events(event_type, items, **kwargs)


def listens(event_type: str) -> bool:
    from omni.webhooks.services import listens as listens_to

    return listens_to(event_type)
