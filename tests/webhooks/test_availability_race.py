"""The last units of a SKU sold at two stores at the same moment: the sell-out is announced exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from inventory import services as inventory
from inventory.models import NetworkAvailability
from omni.catalog.models import Location, Variant
from omni.webhooks.models import Event
from tests.factories import LocationFactory, VariantFactory


@pytest.mark.django_db(transaction=True)
def test_two_stores_selling_the_last_units_at_once_announce_one_sell_out(postgres, subscribed, monkeypatch):
    subscribed(["availability.changed"])
    milano, roma = LocationFactory(code="MI01"), LocationFactory(code="RM01")
    tie = VariantFactory(sku="CRAVATTA")
    for store in (milano, roma):
        inventory.count(location=store, variant=tie, on_hand=1, reason="opening")
    assert NetworkAvailability.objects.get(variant=tie).is_available is True
    Event.objects.all().delete()

    # Both sales have taken their unit (uncommitted) before either compares the network's figures.
    both_sold = threading.Barrier(2)
    announce = inventory.announce_availability

    def announce_together(changes):
        changes = list(changes)
        both_sold.wait(20)
        announce(changes)

    monkeypatch.setattr(inventory.stock, "announce_availability", announce_together)  # where the ledger writes call it
    errors: list[BaseException] = []

    def sell(store_pk: int):
        try:
            with transaction.atomic():
                inventory.take(
                    location=Location.objects.get(pk=store_pk), variant=Variant.objects.get(pk=tie.pk), quantity=1
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    sellers = [threading.Thread(target=sell, args=(store.pk,)) for store in (milano, roma)]
    for seller in sellers:
        seller.start()
    for seller in sellers:
        seller.join(60)
    assert errors == []
    assert [(e.type, e.data) for e in Event.objects.all()] == [
        ("availability.changed", {"sku": "CRAVATTA", "network_available": 0})
    ]
