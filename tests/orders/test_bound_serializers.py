"""Serializers built once per thread (omni/api/bound.py): an order's fields are bound once, its answers and
its errors stay DRF's own."""

import threading

import pytest
from rest_framework import serializers

from omni.api import bound
from omni.orders.api.serializers import OrderInSerializer, OrderSerializer
from tests.orders.conftest import stock

URL = "/api/v1/orders/"


def sale(external_id: str) -> dict:
    return {
        "channel": "store",
        "location": "MI01",
        "external_id": external_id,
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "39.90"}],
    }


@pytest.fixture
def fresh_thread_cache():
    bound._built.by_class = {}
    yield
    bound._built.by_class = {}


def counting(monkeypatch, serializer_class) -> list[int]:
    calls = []
    original = serializer_class.get_fields

    def get_fields(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(serializer_class, "get_fields", get_fields)
    return calls


@pytest.mark.django_db
def test_three_orders_bind_the_order_serializers_once(api, network, monkeypatch, fresh_thread_cache):
    stock(network["milano"], network["shirt"], 5)
    read, answered = counting(monkeypatch, OrderInSerializer), counting(monkeypatch, OrderSerializer)
    for n in range(3):
        response = api.post(URL, sale(f"BOUND-{n}"), format="json")
        assert response.status_code == 201, response.json()
    # A serializer per request would bind the input's fields 3 times; the answer is built by order_answer,
    # which binds none.
    assert (len(read), len(answered)) == (1, 0)


BAD = {
    "no body at all": None,
    "a list": [],
    "an empty object": {},
    "bad fields at every depth": {
        "channel": "nowhere",
        "lines": [{"sku": "", "quantity": 0}],
        "payments": [{"tender": "card", "amount": "x"}],
    },
    "customer and identifiers (validate)": {
        "channel": "store",
        "customer": 1,
        "identifiers": [{"kind": "email", "value": "a@example.it"}],
        "lines": [{"sku": "A", "quantity": 1}],
    },
}


@pytest.mark.parametrize("data", BAD.values(), ids=BAD.keys())
def test_bad_data_raises_the_error_a_fresh_serializer_raises(data, fresh_thread_cache):
    fresh = OrderInSerializer(data=data)
    with pytest.raises(serializers.ValidationError) as expected:
        fresh.is_valid(raise_exception=True)
    for _ in range(2):  # the second time through the instance built the first time
        with pytest.raises(serializers.ValidationError) as raised:
            bound.validated(OrderInSerializer, data)
        assert raised.value.get_full_details() == expected.value.get_full_details()


def test_good_data_after_bad_validates_as_a_fresh_serializer_does(fresh_thread_cache):
    with pytest.raises(serializers.ValidationError):
        bound.validated(OrderInSerializer, {"channel": "nowhere"})
    fresh = OrderInSerializer(data=sale("GOOD"))
    assert fresh.is_valid()
    assert bound.validated(OrderInSerializer, sale("GOOD")) == fresh.validated_data


def test_each_thread_keeps_its_own_instance(fresh_thread_cache):
    here = bound._instance(OrderSerializer)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(bound._instance(OrderSerializer)))
    worker.start()
    worker.join()
    assert bound._instance(OrderSerializer) is here
    assert seen and seen[0] is not here
