"""E-mails, phone numbers and loyalty cards never reach the log in clear.

The logs go through the handlers configured in settings.LOGGING (not
pytest's capture, which skips the handlers' filters), at DEBUG, with the SQL
of every query logged: the customer's data is in those queries' parameters,
in Django's own request logs and in the development server's request lines.
"""

from __future__ import annotations

import copy
import io
import logging
import logging.config
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from inventory import services as inventory
from tests.factories import LocationFactory, VariantFactory

EMAIL = "giulia.rossi@example.it"
PHONE = "+393331234567"
PHONE_TYPED = "333 123 4567"
CARD = "0420000000017"


@pytest.fixture
def log(db):
    """Everything logged at DEBUG through the project's configured handlers, into a buffer."""
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["stream"] = buffer
    config["root"]["level"] = "DEBUG"
    config["loggers"]["django"]["level"] = "DEBUG"
    config["loggers"]["django.db.backends"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    connection.force_debug_cursor = True  # every query and its parameters logged, as with DEBUG on
    try:
        yield buffer
    finally:
        connection.force_debug_cursor = False
        logging.config.dictConfig(settings.LOGGING)


def test_identify_an_order_a_404_and_an_erasure_log_only_masked_personal_data(log, api):
    store = LocationFactory(code="MI-LOG")
    shirt = VariantFactory(sku="LOG-SHIRT", price=Decimal("39.90"))
    inventory.count(location=store, variant=shirt, on_hand=5, reason="test count")

    identified = api.post(
        "/api/v1/customers/identify/",
        {
            "identifiers": [
                {"kind": "email", "value": EMAIL},
                {"kind": "phone", "value": PHONE_TYPED},
                {"kind": "card", "value": CARD},
            ],
            "profile": {"first_name": "Giulia", "email": EMAIL, "phone": PHONE_TYPED},
        },
        format="json",
    )
    assert identified.status_code == 201, identified.content
    customer_id = identified.json()["id"]

    order = api.post(
        "/api/v1/orders/",
        {
            "channel": "store",
            "location": "MI-LOG",
            "identifiers": [{"kind": "card", "value": CARD}, {"kind": "email", "value": EMAIL}],
            "fulfilment": {"type": "carry_out"},
            "lines": [{"sku": "LOG-SHIRT", "quantity": 1}],
            "payments": [{"tender": "card", "amount": "39.90"}],
        },
        format="json",
    )
    assert order.status_code == 201, order.content

    assert api.get(f"/api/v1/no-such-page/?email={EMAIL}&phone={PHONE}").status_code == 404
    assert api.get(f"/api/v1/customers/by-email/{EMAIL}/").status_code == 404
    # What the development server writes for each request: the whole request line, query included.
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /api/v1/customers/?identifier=giulia.rossi%40example.it HTTP/1.1", 200, 512
    )
    # A failure of our own code with the data in the exception's text (a task's traceback).
    try:
        raise ValueError(f"duplicate identifier {EMAIL} / {PHONE} / card {CARD}")
    except ValueError:
        logging.getLogger("omni.orders.tasks").exception("receipt import %s failed", 7)

    erased = api.post(f"/api/v1/customers/{customer_id}/erase/")
    assert erased.status_code in (200, 201, 202), erased.content

    written = log.getvalue()
    assert "INSERT INTO" in written and "Not Found" in written and "receipt import 7 failed" in written
    for secret in (EMAIL, "giulia.rossi%40example.it", PHONE, "3331234567", CARD):
        assert secret not in written, f"{secret} was logged"
    assert "***@example.it" in written
    assert "***67" in written and "***17" in written
