"""Celery tasks of the webhooks: thin wrappers over the services, safe to run twice."""

from celery import shared_task

from omni.webhooks import services


@shared_task(name=services.SEND_TASK)
def send_dispatches(dispatch_ids: list[int]) -> int:
    """Send what a commit published (a dispatch already taken or delivered is skipped)."""
    return services.send_dispatches(dispatch_ids)


@shared_task(name="webhooks.send_due")
def send_due() -> int:
    """Retries whose delay has passed, and anything a lost message left behind (beat, every minute)."""
    return services.send_due()
