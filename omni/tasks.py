"""The frame's scheduled tasks: the outbox relay, the idempotency purge and the monthly partitions."""

from celery import shared_task
from django.utils import timezone

from omni import outbox, partitioning
from omni.models import IdempotencyRecord


@shared_task(name="omni.relay_outbox")
def relay_outbox() -> int:
    return outbox.relay()


@shared_task(name="omni.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


@shared_task(name="omni.ping")
def ping(token: str = "") -> str:
    """Answer a token back: lets operators (and the tests) check a worker is listening."""
    return f"pong:{token}"


@shared_task(name="omni.ensure_partitions")
def ensure_partitions() -> dict[str, list[str]]:
    """Create the monthly partitions due in the next months (PostgreSQL only); return the names created per table."""
    return partitioning.ensure_all_partitions()
