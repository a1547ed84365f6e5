"""Scheduled stock work: thin wrappers around the services, safe to run twice."""

from celery import shared_task

from inventory import services


@shared_task(name="inventory.release_expired_holds")
def release_expired_holds() -> int:
    """Release click & collect holds whose time has passed (beat: every 5 minutes)."""
    return services.release_expired_holds()


@shared_task(name="inventory.propose_replenishment")
def propose_replenishment() -> int:
    """Recompute the replenishment and rebalancing proposals (beat: nightly)."""
    return services.propose_replenishment().proposals
