"""check_stock_ledger: every stock row equals the sum of its movements, and says so."""

import io

import pytest
from django.core.management import CommandError, call_command

from inventory import services
from inventory.models import StockLevel
from tests.inventory.conftest import stock

pytestmark = pytest.mark.django_db


def test_the_check_passes_after_real_work(store, warehouse, shirt):
    stock(store, shirt, 4)
    services.receive(location=warehouse, variant=shirt, quantity=9)
    services.hold(location=store, variant=shirt, quantity=2)
    out = io.StringIO()
    call_command("check_stock_ledger", stdout=out)
    assert "matches" in out.getvalue()


def test_a_row_changed_behind_the_ledgers_back_is_reported(store, shirt):
    stock(store, shirt, 4)
    StockLevel.objects.filter(location=store).update(on_hand=5)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 stock row"):
        call_command("check_stock_ledger", stdout=out)
    assert "MI-DUOMO SHIRT-RED-M: on hand 5 (ledger 4)" in out.getvalue()
