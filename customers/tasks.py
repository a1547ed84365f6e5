"""Background work of customers: sending the messages written by `customers.messaging.tell`."""

from __future__ import annotations

from celery import shared_task

from customers import messaging


@shared_task(name="customers.send_message", bind=True, max_retries=None)
def send_message(self, message_id: int) -> str:
    """Send one message; a failed send is tried again later, up to MESSAGE_MAX_ATTEMPTS times in all.

    Run eagerly (the demo), the error goes back to the outbox, whose relay tries again.
    """
    try:
        return messaging.deliver(message_id)
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=messaging.retry_delay(self.request.retries)) from exc
