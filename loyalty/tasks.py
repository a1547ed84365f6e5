"""Scheduled loyalty work: thin wrappers around the services, safe to run twice."""

from celery import shared_task

from loyalty import services


@shared_task(name="loyalty.expire_points")
def expire_points() -> int:
    return services.expire_due()


@shared_task(name="loyalty.recompute_tiers")
def recompute_tiers() -> int:
    return services.recompute_tiers()
