"""Transfers between locations, and the nightly proposals that pull stock to where it sells."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from inventory import selectors, services, tasks
from inventory.models import ReplenishmentProposal, StockMovement, Transfer
from omni.errors import InsufficientStock, InvalidTransition
from tests.factories import LocationFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


def test_a_transfer_holds_ships_and_receives_the_units_with_their_movements(store, warehouse, shirt):
    stock(warehouse, shirt, 10)
    transfer = services.request_transfer(from_location=warehouse, to_location=store, variant=shirt, quantity=4)
    assert (level_of(warehouse, shirt).reserved, transfer.status) == (4, "requested")
    services.ship_transfer(transfer=transfer)
    assert (level_of(warehouse, shirt).on_hand, level_of(warehouse, shirt).reserved) == (6, 0)
    services.receive_transfer(transfer=transfer)
    assert level_of(store, shirt).on_hand == 4
    assert Transfer.objects.get().status == "received"
    kinds = set(StockMovement.objects.values_list("kind", flat=True))
    assert {"transfer_out", "transfer_in"} <= kinds
    assert selectors.ledger_differences() == []
    with pytest.raises(InvalidTransition):
        services.receive_transfer(transfer=transfer)


def test_a_transfer_cannot_take_more_than_is_available_and_a_cancel_gives_the_units_back(store, warehouse, shirt):
    stock(warehouse, shirt, 3)
    with pytest.raises(InsufficientStock):
        services.request_transfer(from_location=warehouse, to_location=store, variant=shirt, quantity=4)
    assert not Transfer.objects.exists()
    transfer = services.request_transfer(from_location=warehouse, to_location=store, variant=shirt, quantity=3)
    services.cancel_transfer(transfer=transfer)
    assert level_of(warehouse, shirt).reserved == 0
    with pytest.raises(InvalidTransition):
        services.ship_transfer(transfer=transfer)


def sell(location, variant, units: int, days_ago: int = 3) -> None:
    services.take(location=location, variant=variant, quantity=units)
    StockMovement.objects.filter(kind="sale", location=location).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def test_a_store_running_out_gets_units_from_the_warehouse(store, warehouse, shirt):
    stock(store, shirt, 30)
    stock(warehouse, shirt, 100)
    sell(store, shirt, 28)  # one a day over four weeks; two left: two days of cover
    run = services.propose_replenishment()
    assert (run.replenish, run.rebalance) == (1, 0)
    proposal = ReplenishmentProposal.objects.get()
    assert (proposal.from_location, proposal.to_location, proposal.quantity) == (warehouse, store, 19)
    assert (proposal.daily_sales, proposal.cover_days) == (Decimal("1.00"), Decimal("2.0"))


def test_without_warehouse_stock_the_units_come_from_a_store_that_does_not_sell_them(store, shirt):
    idle = LocationFactory(code="BG-IDLE", latitude=Decimal("45.69"), longitude=Decimal("9.67"))
    stock(store, shirt, 30)
    stock(idle, shirt, 8)
    sell(store, shirt, 28)
    services.propose_replenishment()
    proposal = ReplenishmentProposal.objects.get()
    assert (proposal.kind, proposal.from_location, proposal.quantity) == ("rebalance", idle, 8)


def test_a_store_with_enough_cover_or_no_sales_gets_nothing(store, warehouse, shirt):
    stock(store, shirt, 40)
    stock(warehouse, shirt, 100)
    sell(store, shirt, 7)  # a quarter a day, 33 left: months of cover
    assert services.propose_replenishment().proposals == 0


def test_the_nightly_task_replaces_open_proposals_instead_of_piling_them_up(store, warehouse, shirt):
    stock(store, shirt, 30)
    stock(warehouse, shirt, 100)
    sell(store, shirt, 28)
    assert tasks.propose_replenishment.apply().get() == 1
    assert tasks.propose_replenishment.apply().get() == 1
    assert ReplenishmentProposal.objects.count() == 1


def test_a_logistics_manager_turns_proposals_into_transfers_with_one_action(client, store, warehouse, shirt):
    client.force_login(User.objects.create_superuser("logistica", "l@example.it", "pw-Secret-1"))
    stock(store, shirt, 30)
    stock(warehouse, shirt, 100)
    sell(store, shirt, 28)
    services.propose_replenishment()
    proposal = ReplenishmentProposal.objects.get()
    page = client.get("/admin/inventory/replenishmentproposal/")
    assert page.status_code == 200 and "SHIRT-RED-M" in page.content.decode()
    client.post(
        "/admin/inventory/replenishmentproposal/",
        {"action": "make_transfers", "_selected_action": [proposal.pk]},
    )
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and proposal.transfer.quantity == 19
    assert level_of(warehouse, shirt).reserved == 19
    services.propose_replenishment()  # an accepted proposal is kept, not replaced
    assert ReplenishmentProposal.objects.filter(status="accepted").count() == 1


def test_the_transfer_actions_move_the_units_along(client, store, warehouse, shirt):
    client.force_login(User.objects.create_superuser("logistica", "l@example.it", "pw-Secret-1"))
    stock(warehouse, shirt, 10)
    transfer = services.request_transfer(from_location=warehouse, to_location=store, variant=shirt, quantity=2)
    for action in ("ship", "receive"):
        client.post("/admin/inventory/transfer/", {"action": action, "_selected_action": [transfer.pk]})
    assert Transfer.objects.get().status == "received"
    assert level_of(store, shirt).on_hand == 2
    assert client.get("/admin/inventory/transfer/").status_code == 200


def test_a_transfer_typed_in_the_admin_holds_its_units(client, store, warehouse, shirt):
    client.force_login(User.objects.create_superuser("logistica", "l@example.it", "pw-Secret-1"))
    stock(warehouse, shirt, 10)
    body = {"variant": shirt.pk, "from_location": warehouse.pk, "to_location": store.pk, "quantity": 3, "reason": ""}
    response = client.post("/admin/inventory/transfer/add/", body)
    assert response.status_code == 302
    assert level_of(warehouse, shirt).reserved == 3
    too_many = client.post("/admin/inventory/transfer/add/", {**body, "quantity": 50}, follow=True)
    assert "Not enough stock" in too_many.content.decode()
    assert Transfer.objects.count() == 1
