"""What one sale costs the database: a till receipt with a loyalty card stays a few dozen queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

from loyalty import services as loyalty
from loyalty.models import EarningRule, LedgerEntry
from loyalty.pricing import LineIn
from omni.catalog.models import Channel
from omni.orders import services
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db

# Counted on PostgreSQL for one carry-out order of a known customer who earns points under one earning
# rule. The order runs inside the test's transaction, so its own
# transaction is a savepoint here (two of the queries). It was 47 before the order flow read the
# programme and the rules once, wrote ledger entries without reading them back and stopped nesting
# savepoints. The 29th reads the customer's e-mail consent: a receipt is e-mailed only to who said yes.
# 28 since the order number comes from a sequence: one nextval instead of a savepoint around a retried INSERT;
# 25 since each process keeps the programme, the rules and the promotions: one query reads their token.
# 24 since the stock step plans from a plain read and changes the row and writes its movement in one statement
# (a data-modifying CTE; SQLite has none and sends the same UPDATE and INSERT apart: one more there).
# 21 since the points are one statement too: the account locked and settled, its balance, the entry and the lot
# (SQLite runs the same four pieces apart: three more there).
# 16 since the order's own rows are two statements: the order (its number drawn in it), lines and payments in one;
# the allocations, the event and the outbox row in another (SQLite runs the seven pieces apart: five more there).
# 15 since each process keeps the variants it priced (omni.catalog.selectors.sellable): their token is read with
# the rules', no query for the catalog.
# 14 since identify reads the identifiers and locks their holder in one statement (it was a read of each).
# 13 since a carry out of one variant takes its stock without reading the row first.
# 12 since the receipt's external id is checked by the statement that reads the tokens (versions.read_with_tokens).
# 11 since identify reads the buyer's e-mail consent with their lock: the receipt does not ask again.
# 10 since the points earned ride in the statement of the allocations, the event and the outbox row.
MAX_QUERIES_PER_ORDER = 10
# The pieces of the stock step (one more), the order's first chain (three more) and its second chain with the
# points' four pieces (six more), sent one by one on SQLite.
MORE_ON_SQLITE = 1 + 3 + 6
# A new customer (identified by an e-mail never seen: customer, identifier, account and lot made) costs more;
# 30 until the receipt stopped reading the consents of a customer the order itself created.
# 23 since the points are one statement and the account one INSERT ... ON CONFLICT DO NOTHING (no savepoint).
# 18 since the order's own rows are two statements.
# 17 since each process keeps the variants it priced.
# 16 since the new customer is written with the profile its e-mail fills (no UPDATE of the blank afterwards).
# 15 since the carry out's stock is taken without a read.
# 14 since the receipt's external id is checked by the statement that reads the tokens.
# 13 since the points earned ride in the statement of the allocations, the event and the outbox row.
MAX_QUERIES_PER_NEW_CUSTOMER_ORDER = 13
# Through the API with an Idempotency-Key (the record claimed, the API key read, the answer stored); 34 until
# each process kept the channels and locations and read their token with the rules' in one query.
# 29 since the points are one statement.
# 24 since the order's own rows are two statements.
# 23 since each process keeps the variants it priced.
# 22 since identify reads and locks in one statement.
# 20 since the Idempotency-Key is claimed by one INSERT ... ON CONFLICT DO NOTHING (no savepoint around it).
# 19 since the carry out's stock is taken without a read.
# 18 since identify reads the buyer's e-mail consent with their lock (the API's frame reads the tokens first, so
# the external id check runs alone there).
# 15 counted in the request's own transaction as in production, claim to COMMIT (18 so before), since the
# middleware runs that transaction again as a whole: the sale and identify take no savepoints of their own in it.
# 14 with identify reading the consent too.
# 13 since the lock on the claim carries the read of the version tokens (the view's checks query none).
# 12 since each process keeps the active API clients behind their token: the key is checked with no query.
# 11 since the points earned ride in the statement of the allocations, the event and the outbox row.
MAX_QUERIES_PER_API_ORDER = 11


def more_on_sqlite() -> int:
    return 0 if connection.vendor == "postgresql" else MORE_ON_SQLITE


def sell(network, external_id: str, channel: Channel, email: str = "anna@example.it"):
    return services.record_order(
        channel=channel,
        location=network["milano"],
        identifiers=[{"kind": "email", "value": email}],
        external_id=external_id,
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
    )


def test_a_till_sale_with_a_known_card_holder_earning_points_stays_within_its_query_budget(
    network, django_assert_max_num_queries
):
    stock(network["milano"], network["shirt"], 10)
    EarningRule.objects.create(name="Shirts count double", category=network["shirt"].product.category, multiplier=2)
    till = Channel.objects.get(code="store")
    sell(network, "R-1", till)  # the customer, the account and today's lot of points now exist

    with django_assert_max_num_queries(MAX_QUERIES_PER_ORDER + more_on_sqlite()):
        order = sell(network, "R-2", till)

    account = loyalty.open_account(customer=order.customer)
    assert order.points_earned == 79  # 39.90 paid, one point per euro, doubled by the rule
    assert account.balance == 2 * 79
    entry = LedgerEntry.objects.get(order=order)
    assert (entry.points, entry.balance_after, entry.created_at) == (79, 2 * 79, order.created_at)


def test_a_till_sale_to_a_new_customer_stays_within_its_query_budget(network, django_assert_max_num_queries):
    stock(network["milano"], network["shirt"], 10)
    till = Channel.objects.get(code="store")
    sell(network, "R-1", till)  # the rules and the sequence are warm

    with django_assert_max_num_queries(MAX_QUERIES_PER_NEW_CUSTOMER_ORDER + more_on_sqlite()):
        order = sell(network, "R-2", till, email="nuovo@example.it")
    assert order.customer.email == "nuovo@example.it" and order.points_earned == 39


# A till's receipt through the API: a card holder named by e-mail buys one red shirt in Milan.
TILL_RECEIPT = {
    "channel": "store",
    "location": "MI01",
    "identifiers": [{"kind": "email", "value": "anna@example.it"}],
    "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
    "fulfilment": {"type": "carry_out"},
    "payments": [{"tender": "card", "amount": "39.90"}],
}


def till_warmed_up(api, network) -> dict:
    """The red shirt stocked and a first receipt sold through the API, as a running till has: what each process
    keeps is then read. Returns the receipt to send again under another external id."""
    stock(network["milano"], network["shirt"], 10)
    assert api.post("/api/v1/orders/", {**TILL_RECEIPT, "external_id": "R-1"}, format="json").status_code == 201
    return TILL_RECEIPT


@pytest.mark.django_db(transaction=True)
def test_a_till_sale_through_the_api_stays_within_its_query_budget(api, network):
    body = till_warmed_up(api, network)

    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            "/api/v1/orders/", {**body, "external_id": "R-2"}, format="json", HTTP_IDEMPOTENCY_KEY="till-7-0042"
        )
    assert response.status_code == 201, response.content
    sent = [query["sql"] for query in queries.captured_queries]
    sent = sent[: sent.index("COMMIT") + 1]  # what runs after it (the outbox's send) is no part of the request
    assert len(sent) <= MAX_QUERIES_PER_API_ORDER + more_on_sqlite(), sent
    assert not [sql for sql in sent if "SAVEPOINT" in sql], sent
    # The tokens come with the first statement of the transaction, the claim's lock, and are not read again.
    first = next(sql for sql in sent if "omni_idempotencyrecord" in sql and "WHERE id =" in sql)
    assert "omni_version" in first, sent
    assert [sql for sql in sent if "omni_version" in sql] == [first], sent
    assert not [sql for sql in sent if "omni_apiclient" in sql], sent  # the key is checked against the kept clients


@pytest.mark.django_db(transaction=True)
def test_a_till_sale_through_the_api_asks_the_shared_cache_twice(api, network, shared_default_cache, redis_commands):
    """Production shares its cache (Redis): the rate limit's window is one script, and the event types anyone
    listens to are read once for the sale's three kinds of event (order, points, availability)."""
    body = till_warmed_up(api, network)

    commands = redis_commands()
    response = api.post(
        "/api/v1/orders/", {**body, "external_id": "R-2"}, format="json", HTTP_IDEMPOTENCY_KEY="till-7-0043"
    )
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] > 0
    assert commands.sent == ["EVALSHA", "GET"], commands.sent


@pytest.mark.postgres_only("psycopg's conversion of a statement's placeholders, which the SQLite driver has not")
@pytest.mark.django_db(transaction=True)
def test_every_statement_of_a_till_sale_through_the_api_is_one_psycopg_keeps_converted(api, network):
    """psycopg splits a statement at its placeholders once and keeps the result, for statements up to 4 KB
    with up to 50 parameters: a longer one is split again at every call (0.25 ms of CPU for the 4.8 KB the
    points, allocations and outbox row took before the chain's later SELECTs said plain NULL)."""
    body = till_warmed_up(api, network)
    sent = []

    def keep(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        response = api.post(
            "/api/v1/orders/", {**body, "external_id": "R-2"}, format="json", HTTP_IDEMPOTENCY_KEY="till-7-0044"
        )
    assert response.status_code == 201 and response.json()["points_earned"] > 0
    assert any("loyalty_ledgerentry" in sql and "omni_outboxmessage" in sql for sql, _ in sent)
    for sql, params in sent:
        assert len(sql.encode()) <= MAX_CACHED_STATEMENT_LENGTH, sql
        assert len(params or ()) <= MAX_CACHED_STATEMENT_PARAMS, sql


@pytest.mark.django_db(transaction=True)
def test_a_sale_in_its_own_transaction_identifies_in_one_statement_without_a_savepoint(network):
    stock(network["milano"], network["shirt"], 10)
    till = Channel.objects.get(code="store")
    sell(network, "R-1", till)

    with CaptureQueriesContext(connection) as queries:
        order = sell(network, "R-2", till)

    sent = [query["sql"] for query in queries.captured_queries]
    writes = [
        i for i, sql in enumerate(sent) if sql.startswith(("INSERT", "WITH")) and "customers_identifier" not in sql
    ]
    sent = sent[: writes[0]]  # before the writes
    reads = [index for index, sql in enumerate(sent) if "customers_identifier" in sql]
    assert len(reads) == 1 and "customers_customer" in sent[reads[0]], sent  # identifiers and holder at once
    around = sent[reads[0] - 1 : reads[0] + 2]
    assert not [sql for sql in around if "SAVEPOINT" in sql], around  # identify's retry is record_order's
    assert order.customer.email == "anna@example.it"


def test_a_click_and_collect_order_reads_the_tokens_of_what_it_keeps_once(network):
    """The rules, the variants (pricing) and the places (sourcing) are kept per process behind tokens; one
    order, whoever calls record_order, reads every token with one query."""
    stock(network["roma"], network["shirt"], 10)
    web = Channel.objects.get(code="web")

    def collect(external_id: str):
        return services.record_order(
            channel=web,
            external_id=external_id,
            fulfilment=services.FulfilmentIn(type="click_and_collect", pickup_location=network["milano"]),
            lines=[LineIn("CAM-ROSSA-M", 1)],
            payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
        )

    collect("W-1")
    with CaptureQueriesContext(connection) as queries:
        collect("W-2")
    tokens = [query["sql"] for query in queries.captured_queries if "omni_version" in query["sql"]]
    assert len(tokens) == 1, tokens


@pytest.mark.django_db(transaction=True)
def test_a_returning_sale_checks_its_receipt_with_the_tokens_and_reads_the_consent_with_the_lock(network):
    """In its own transaction a returning customer's sale is BEGIN, six statements and COMMIT, and nothing after:
    the external id checked by the statement that reads the version tokens, the e-mail consent read by the
    statement that finds and locks the buyer, and the KPI refresh that the first sale queued found waiting by the
    statement that writes the outbox row (no claim after the commit)."""
    stock(network["milano"], network["shirt"], 10)
    till = Channel.objects.get(code="store")
    sell(network, "R-1", till)

    with CaptureQueriesContext(connection) as queries:
        sell(network, "R-2", till)

    sent = [query["sql"] for query in queries.captured_queries]
    tokens = [sql for sql in sent if "omni_version" in sql]
    assert len(tokens) == 1 and "external_id" in tokens[0] and sent.index(tokens[0]) <= 1, sent
    assert not [sql for sql in sent if "orders_order" in sql and sql.startswith("SELECT number")], sent
    consent = [sql for sql in sent if "consent" in sql]
    assert len(consent) == 1 and "customers_identifier" in consent[0], consent
    if connection.vendor == "postgresql":
        assert len(sent) == 8 and sent[-1] == "COMMIT", sent
        # the points earned are written by the statement of the allocations, the event and the outbox row
        [earned] = [sql for sql in sent if "INSERT INTO loyalty_ledgerentry" in sql]
        assert "INSERT INTO orders_allocation" in earned and "omni_outboxmessage" in earned, earned
