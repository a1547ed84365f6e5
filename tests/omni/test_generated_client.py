"""A client generated from the served schema with openapi-python-client works against a live server.

The schema is fetched in Italian and in English, written to a folder, and
turned into a Python package by the generator in a subprocess: the two
packages must be the same, file for file. The package is imported and
driven through identify -> availability -> order -> balance on a live server
(PostgreSQL), with an API key made here. A schema the generator cannot read,
or one that does not say what the code answers, fails this test.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from inventory import services as inventory
from omni.api.keys import create_client
from tests.factories import LocationFactory, ProductFactory, VariantFactory

PACKAGE = "omni_api_client"
CARD = "0420000000017"
GENERATOR_CONFIG = f"project_name_override: omni-api-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


def generate(schema_url: str, folder: Path, language: str) -> Path:
    """Fetch the schema asking for `language`, run the generator on it; the package's folder."""
    folder.mkdir()
    schema = httpx.get(schema_url, params={"format": "json"}, headers={"Accept-Language": language}, timeout=60)
    assert schema.status_code == 200
    (folder / "schema.json").write_bytes(schema.content)
    (folder / "config.yaml").write_text(GENERATOR_CONFIG)
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "schema.json"]
        + ["--config", "config.yaml", "--output-path", PACKAGE, "--meta", "none"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    return folder / PACKAGE


def files_of(package: Path) -> dict[str, str]:
    return {str(path.relative_to(package)): path.read_text() for path in sorted(package.rglob("*.py"))}


def generate_client(schema_url: str, folder: Path):
    """A client generated from the schema asked for in Italian and one asked for in English: the same
    package, file for file. The Italian one is imported."""
    italian = generate(schema_url, folder / "it", "it")
    english = generate(schema_url, folder / "en", "en")
    assert files_of(italian) == files_of(english)
    sys.path.insert(0, str(italian.parent))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module(PACKAGE)


@pytest.fixture
def generated(live_server, tmp_path):
    sys_path = list(sys.path)
    yield generate_client(f"{live_server.url}/api/schema/", tmp_path)
    sys.path[:] = sys_path
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_generated_client_identifies_checks_availability_orders_and_reads_the_balance(
    transactional_db, live_server, generated
):
    from omni_api_client.api.availability import availability_retrieve
    from omni_api_client.api.customers import customers_identify_create
    from omni_api_client.api.loyalty import loyalty_accounts_retrieve
    from omni_api_client.api.orders import orders_create
    from omni_api_client.models import (
        AvailabilityRetrieveChannel,
        ChannelEnum,
        CustomerIdentifierInKindEnum,
        CustomerIdentifierInRequest,
        FulfilmentInRequest,
        FulfilmentInTypeEnum,
        IdentifyInRequest,
        OrderInRequest,
        OrderLineInRequest,
        PaymentInRequest,
        PaymentInTenderEnum,
    )

    store = LocationFactory(code="MI01", name="Milano Duomo")
    shirt = VariantFactory(sku="CAM-ROSSA-M", price=Decimal("39.90"), product=ProductFactory(code="CAM-ROSSA"))
    inventory.count(location=store, variant=shirt, on_hand=3, reason="opening count")
    _record, key = create_client(name="site", scopes=["customers", "stock", "orders", "loyalty"])
    client = generated.AuthenticatedClient(base_url=live_server.url, token=key, raise_on_unexpected_status=True)

    identified = customers_identify_create.sync_detailed(
        client=client,
        body=IdentifyInRequest(
            identifiers=[
                CustomerIdentifierInRequest(kind=CustomerIdentifierInKindEnum.EMAIL, value="Marta@Example.it"),
                CustomerIdentifierInRequest(kind=CustomerIdentifierInKindEnum.CARD, value=CARD),
            ]
        ),
    )
    assert identified.status_code == 201
    customer = identified.parsed
    assert (customer.created, customer.email) == (True, "marta@example.it")

    availability = availability_retrieve.sync(
        client=client, sku=["CAM-ROSSA-M"], channel=AvailabilityRetrieveChannel.STORE, location="MI01"
    )
    assert [(row.sku, row.network_available) for row in availability.results] == [("CAM-ROSSA-M", 3)]

    order = orders_create.sync(
        client=client,
        idempotency_key="till-R-0001",
        body=OrderInRequest(
            channel=ChannelEnum.STORE,
            location="MI01",
            customer=customer.id,
            external_id="R-0001",
            lines=[OrderLineInRequest(sku="CAM-ROSSA-M", quantity=1)],
            fulfilment=FulfilmentInRequest(type_=FulfilmentInTypeEnum.CARRY_OUT),
            payments=[PaymentInRequest(tender=PaymentInTenderEnum.CARD, amount="39.90")],
        ),
    )
    assert (order.status.value, order.total, order.points_earned) == ("completed", "39.90", 39)

    account = loyalty_accounts_retrieve.sync(CARD, client=client)
    assert (account.card, account.customer, account.balance) == (CARD, customer.id, 39)
