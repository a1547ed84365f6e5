"""A subscription deleted while a sale publishes to it: the sale still commits."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from omni.models import OutboxMessage
from omni.webhooks import services
from omni.webhooks.models import Dispatch, Subscription


@pytest.mark.django_db(transaction=True)
def test_deleting_a_subscription_waits_for_the_sale_that_publishes_to_it(postgres, subscribed):
    subscription = subscribed(["customer.erased"])
    published, deleted = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def sale():
        try:
            with transaction.atomic():
                services.publish("customer.erased", {"customer": 1})
                published.set()
                deleted.wait(2)  # the delete, if it could run now, would have run by then
            outcome["sale"] = "committed"
        except Exception as error:
            outcome["sale"] = repr(error)
        finally:
            connection.close()

    def remove():
        published.wait(20)
        try:
            services.delete_subscription(subscription=Subscription.objects.get(pk=subscription.pk))
            outcome["delete"] = "done"
        finally:
            deleted.set()
            connection.close()

    threads = [threading.Thread(target=sale), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome == {"sale": "committed", "delete": "done"}
    assert not Subscription.objects.exists() and not Dispatch.objects.exists()  # deleted after the sale, with it
    assert OutboxMessage.objects.filter(task=services.SEND_TASK).count() == 1
