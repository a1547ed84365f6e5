"""POS receipts from a file: one bulk service that records what record_order would, all or nothing.

The admin import previews and confirms (small files in the request, large
ones through a Celery task with a progress page), and the import_receipts
command does the same from a shell.
"""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from customers import services as customer_services
from inventory import selectors as inventory_selectors
from inventory.models import StockLevel, StockMovement
from loyalty import services as loyalty
from loyalty.models import EarningRule, LedgerEntry, LoyaltyAccount, PointsLot, Promotion
from loyalty.pricing import LineIn
from omni import outbox
from omni.catalog.models import StaffAssignment
from omni.models import OutboxMessage
from omni.orders import receipts as receipt_import
from omni.orders import services
from omni.orders.models import Allocation, ImportStatus, Order, OrderEvent, OrderLine, Payment, ReceiptImport
from omni.orders.receipts import ReceiptFileInvalid, record_receipts, rows_from_bytes
from tests.factories import ProductFactory, VariantFactory, channel
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db

HEADER = "store,receipt,sold_at,sku,quantity,unit_price,card,tender\n"
GOOD = (
    HEADER + "MI01,R-1,2025-03-14T10:05:00,CAM-ROSSA-M,2,39.90,0420000000017,card\n"
    "MI01,R-1,2025-03-14T10:05:00,GONNA-BLU-S,1,59.00,0420000000017,card\n"
    'MI01,R-2,14/03/2025 11:30,CAM-ROSSA-M,1,"35,00",,cash\n'
    "RM01,R-3,2025-03-15T09:00:00+01:00,GONNA-BLU-S,3,59.00,0420000000999,card\n"
)


@pytest.fixture
def shop(network):
    """Milano and Roma with shirts and skirts on the shelf, a card customer, a promotion and an earning rule."""
    skirt = VariantFactory(
        sku="GONNA-BLU-S", price=Decimal("59.00"), product=ProductFactory(code="GONNA-BLU", category="gonne")
    )
    for place in (network["milano"], network["roma"]):
        stock(place, network["shirt"], 10)
        stock(place, skirt, 10)
    customer_services.identify(identifiers=[{"kind": "card", "value": "0420000000017"}])
    Promotion.objects.create(
        code="gonne-10", name="Gonne -10%", kind="percent", value=10, target="category", category="gonne"
    )
    EarningRule.objects.create(name="Camicie x2", category="camicie", multiplier=2, bonus_points=5)
    return {**network, "skirt": skirt}


def rows(text: str):
    return rows_from_bytes(text.encode(), "csv")


def snapshot() -> dict:
    """What a user can see of the sales, independent of primary keys and insert times."""
    by_pk = dict(Order.objects.values_list("pk", "external_id"))

    def card_of(customer_id):
        return (
            customer_services.Identifier.objects.filter(customer_id=customer_id, kind="card")
            .values_list("value", flat=True)
            .first()
            if customer_id
            else None
        )

    return {
        "orders": sorted(
            (
                o.external_id,
                o.location.code,
                card_of(o.customer_id),
                o.status,
                o.fulfilment_type,
                o.is_endless_aisle,
                o.subtotal,
                o.discount_total,
                o.total,
                o.points_earned,
                o.points_value,
                o.created_at,
                o.currency,
            )
            for o in Order.objects.select_related("location")
        ),
        "lines": sorted(
            (
                line.order.external_id,
                line.variant.sku,
                line.quantity,
                line.unit_price,
                line.discount,
                line.line_total,
                line.omni_unit_price,
            )
            for line in OrderLine.objects.select_related("order", "variant")
        ),
        "payments": sorted((p.order.external_id, p.tender, p.amount) for p in Payment.objects.select_related("order")),
        "allocations": sorted(
            (a.line.order.external_id, a.line.variant.sku, a.location.code, a.quantity)
            for a in Allocation.objects.select_related("line__order", "line__variant", "location")
        ),
        "movements": sorted(
            (
                m.location.code,
                m.variant.sku,
                m.kind,
                m.on_hand_delta,
                m.reserved_delta,
                by_pk.get(int(m.reason.split()[-1])) if m.reason.startswith("order ") else m.reason,
            )
            for m in StockMovement.objects.select_related("location", "variant")
        ),
        "stock": sorted(
            (s.location.code, s.variant.sku, s.on_hand, s.reserved)
            for s in StockLevel.objects.select_related("location", "variant")
        ),
        "accounts": sorted(
            (card_of(a.customer_id), a.balance, a.debt, a.lifetime_points) for a in LoyaltyAccount.objects.all()
        ),
        "ledger": sorted(
            (
                card_of(e.account.customer_id),
                e.kind,
                e.points,
                e.debt_change,
                e.balance_after,
                e.spend,
                e.channel,
                e.created_at,
                e.order.external_id if e.order else None,
            )
            for e in LedgerEntry.objects.select_related("account", "order")
        ),
        "lots": sorted(
            (card_of(lot.account.customer_id), lot.points, lot.remaining, lot.earned_at, lot.expires_at)
            for lot in PointsLot.objects.select_related("account")
        ),
        "events": sorted(
            (e.order.external_id, e.type, e.to_status) for e in OrderEvent.objects.select_related("order")
        ),
    }


class Undo(Exception):
    pass


def outcome_of(write) -> dict:
    """The snapshot after `write`, which is then undone."""
    try:
        with transaction.atomic():
            write()
            seen = snapshot()
            raise Undo
    except Undo:
        return seen


def one_by_one(file_rows):
    """The reference: record_order called receipt by receipt, as the till would."""
    store = channel("store")
    grouped: dict[str, list] = {}
    for row in file_rows:
        grouped.setdefault(row.receipt, []).append(row)
    from omni.catalog.models import Location

    for number, lines in grouped.items():
        first = lines[0]
        at = receipt_import._moment(first.sold_at)
        quote = services.quote_basket(
            channel=store,
            lines=[LineIn(r.sku, int(r.quantity), receipt_import._amount(r.unit_price)) for r in lines],
            account=None,
        )
        identifiers = [{"kind": "card", "value": first.card}] if first.card else None
        buyer, _new, _consents = services.resolve_customer(
            customer=None, identifiers=identifiers, actor=services.SYSTEM, request_key=""
        )
        account = loyalty.open_account(customer=buyer) if buyer else None
        quote = services.quote_basket(
            channel=store,
            lines=[LineIn(r.sku, int(r.quantity), receipt_import._amount(r.unit_price)) for r in lines],
            account=account,
            at=at,
        )
        services.record_order(
            channel=store,
            location=Location.objects.get(code=first.store),
            lines=[LineIn(r.sku, int(r.quantity), receipt_import._amount(r.unit_price)) for r in lines],
            payments=[services.PaymentIn(tender=first.tender, amount=quote.total)],
            customer=buyer,
            external_id=number,
            created_at=at,
        )


def test_a_file_records_the_same_orders_stock_and_points_as_record_order_receipt_by_receipt(shop):
    file_rows = rows(GOOD)
    bulk = outcome_of(lambda: record_receipts(file_rows, actor=services.SYSTEM))
    reference = outcome_of(lambda: one_by_one(file_rows))
    assert len(bulk["orders"]) == 3 and bulk["ledger"]  # the comparison is not between two empty databases
    for part in reference:
        assert bulk[part] == reference[part], part


def test_receipts_become_completed_carry_out_orders_of_the_store_channel(shop):
    result = record_receipts(rows(GOOD), actor=services.SYSTEM)
    assert [r.receipt for r in result.imported] == ["R-1", "R-2", "R-3"]
    order = Order.objects.get(external_id="R-1")
    assert (order.channel.code, order.location.code, order.status, order.fulfilment_type) == (
        "store",
        "MI01",
        "completed",
        "carry_out",
    )
    # 2 × 39.90 + 59.00, as the till charged them: no promotion on top of a till's price
    assert order.total == Decimal("138.80") and order.lines.count() == 2
    assert order.points_earned > 0 and order.customer is not None
    assert Order.objects.get(external_id="R-2").created_at == timezone.make_aware(datetime(2025, 3, 14, 11, 30))
    assert StockLevel.objects.get(location=shop["milano"], variant=shop["shirt"]).on_hand == 7
    assert inventory_selectors.ledger_differences() == []
    assert OutboxMessage.objects.filter(task="kpis.refresh_day").count() == 2  # one per day sold, not per order


def test_a_dry_run_prices_the_file_and_writes_nothing(shop):
    before = (Order.objects.count(), StockMovement.objects.count(), LedgerEntry.objects.count())
    result = record_receipts(rows(GOOD), actor=services.SYSTEM, dry_run=True)
    assert [r.total for r in result.imported][:2] == [Decimal("138.80"), Decimal("35.00")]
    assert result.new_cards == 1
    assert (Order.objects.count(), StockMovement.objects.count(), LedgerEntry.objects.count()) == before


BAD = (
    HEADER + "MI01,R-1,2025-03-14T10:05:00,CAM-ROSSA-M,2,39.90,,card\n"
    "XX99,R-2,2025-03-14T10:05:00,CAM-ROSSA-M,1,39.90,,card\n"
    "MI01,R-3,yesterday,NO-SUCH-SKU,0,abc,,bitcoin\n"
    "RM01,R-1,2025-03-14T10:05:00,GONNA-BLU-S,1,59.00,,card\n"
    "MI01,R-4,2025-03-14T10:05:00,CAM-ROSSA-M,50000,39.90,,cash\n"
)


def test_bad_rows_are_named_by_line_and_field_and_nothing_is_written(shop):
    before = (Order.objects.count(), StockMovement.objects.count())
    with pytest.raises(ReceiptFileInvalid) as refused:
        record_receipts(rows(BAD), actor=services.SYSTEM)
    errors = refused.value.row_errors
    assert set(errors) == {3, 4, 5, 6}
    assert "No location with code XX99." in errors[3]["store"]
    assert set(errors[4]) == {"sold_at", "sku", "quantity", "unit_price", "tender"}
    assert "Receipt R-1 is from MI01 on row 2." in errors[5]["store"]
    assert "quantity" in errors[6]
    assert (Order.objects.count(), StockMovement.objects.count()) == before


def test_one_bad_receipt_stops_the_good_ones_too(shop):
    text = (
        GOOD
        + "MI01,R-9,2025-03-14T12:00:00,CAM-ROSSA-M,1,39.90,,card\n"
        + "MI01,R-9,2025-03-14T12:00:00,CAM-ROSSA-M,1,39.90,,card\n"
    )
    with pytest.raises(ReceiptFileInvalid) as refused:
        record_receipts(rows(text), actor=services.SYSTEM)
    assert list(refused.value.row_errors) == [7]
    assert "already on row 6" in refused.value.row_errors[7]["sku"][0]
    assert not Order.objects.exists()
    assert StockLevel.objects.get(location=shop["milano"], variant=shop["shirt"]).on_hand == 10


def test_a_failure_while_writing_leaves_nothing_behind(shop, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_move_points", broken)
    with pytest.raises(RuntimeError):
        record_receipts(rows(GOOD), actor=services.SYSTEM)
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert StockLevel.objects.get(location=shop["milano"], variant=shop["shirt"]).on_hand == 10
    assert StockMovement.objects.filter(kind="sale").count() == 0


def test_a_receipt_imported_before_is_skipped_and_reported(shop):
    record_receipts(rows(GOOD), actor=services.SYSTEM)
    again = record_receipts(
        rows(GOOD + "MI01,R-5,2025-03-16T10:00:00,CAM-ROSSA-M,1,39.90,,cash\n"), actor=services.SYSTEM
    )
    assert [r.receipt for r in again.skipped] == ["R-1", "R-2", "R-3"]
    assert [r.receipt for r in again.imported] == ["R-5"]
    assert Order.objects.count() == 4
    assert StockLevel.objects.get(location=shop["milano"], variant=shop["shirt"]).on_hand == 6


def test_a_till_sale_beyond_the_stock_on_file_is_recorded_and_flagged(shop):
    text = HEADER + "MI01,R-7,2025-03-14T10:05:00,CAM-ROSSA-M,13,39.90,,cash\n"
    result = record_receipts(rows(text), actor=services.SYSTEM)
    assert [(s.line, s.sku, s.units, s.beyond_on_hand) for s in result.shortfalls] == [(2, "CAM-ROSSA-M", 3, True)]
    assert StockLevel.objects.get(location=shop["milano"], variant=shop["shirt"]).on_hand == 0
    adjustment = StockMovement.objects.get(kind="adjustment")
    assert adjustment.on_hand_delta == 3 and "R-7" in adjustment.reason
    assert inventory_selectors.ledger_differences() == []


def test_a_clerk_may_import_the_receipts_of_their_own_store_only(shop):
    with pytest.raises(ReceiptFileInvalid) as refused:
        record_receipts(rows(GOOD), actor=services.SYSTEM, allowed_locations=[shop["milano"].pk])
    assert list(refused.value.row_errors) == [5]
    assert "own store only" in refused.value.row_errors[5]["store"][0]


# --- The command ------------------------------------------------------------------------------------------------


def write(tmp_path, text: str, name: str = "receipts.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_command_dry_run_shows_the_receipts_and_writes_nothing(tmp_path, shop):
    out = io.StringIO()
    call_command("import_receipts", str(write(tmp_path, GOOD)), "--dry-run", stdout=out)
    assert "3 receipt(s) with 4 line(s) would be recorded, 0 already imported (dry run)." in out.getvalue()
    assert "4/4 lines" in out.getvalue()
    assert not Order.objects.exists()


def test_the_command_records_a_good_file(tmp_path, shop):
    call_command("import_receipts", str(write(tmp_path, GOOD)), stdout=io.StringIO())
    assert Order.objects.count() == 3


def test_the_command_lists_the_bad_rows_and_fails(tmp_path, shop):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_receipts", str(write(tmp_path, BAD)), stdout=io.StringIO(), stderr=err)
    assert "row 3, store: No location with code XX99." in err.getvalue() and "row 4, tender" in err.getvalue()
    assert not Order.objects.exists()


def test_the_command_refuses_a_file_that_is_not_a_receipt_file(tmp_path, shop):
    with pytest.raises(CommandError, match="use a .csv or .xlsx file"):
        call_command("import_receipts", str(write(tmp_path, GOOD, "receipts.txt")), stdout=io.StringIO())


# --- The admin --------------------------------------------------------------------------------------------------

IMPORT_URL = "/admin/orders/receiptimport/import/"


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


def clerk_of(client, location):
    user = User.objects.create_user("commessa", "c@example.it", "pw-Secret-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["import_receipts", "view_receiptimport"]))
    StaffAssignment.objects.create(user=user, location=location)
    client.force_login(user)
    return client


def upload(client, text: str | bytes, name: str = "receipts.csv"):
    content = text.encode() if isinstance(text, str) else text
    handle = io.BytesIO(content)
    handle.name = name
    return client.post(IMPORT_URL, {"format": 0, "import_file": handle, "resource": 0}, format="multipart")


def test_the_preview_shows_the_receipts_and_writes_nothing_then_confirm_records_them(boss, shop):
    preview = upload(boss, GOOD)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "R-1" in page and "138,80" in page and "R-3" in page  # Italian figures
    assert not Order.objects.exists()
    confirm = preview.context["confirm_form"]
    response = boss.post("/admin/orders/receiptimport/process_import/", confirm.initial)
    assert response.status_code == 302
    assert Order.objects.count() == 3
    assert Order.objects.get(external_id="R-1").events.get().user.username == "capo"


def test_the_preview_lists_every_bad_row_and_offers_no_confirmation(boss, shop):
    response = upload(boss, BAD)
    page = response.content.decode()
    assert "No location with code XX99." in page and "No variant with SKU NO-SUCH-SKU." in page
    assert "Receipt R-1 is from MI01 on row 2." in page
    assert response.context.get("confirm_form") is None
    assert not Order.objects.exists()


def test_an_upload_that_is_too_big_or_not_a_spreadsheet_is_refused_before_reading(boss, shop, settings):
    page = upload(boss, GOOD, name="receipts.exe").content.decode()
    assert "Only .csv, .xlsx files are accepted" in page or "use a .csv or .xlsx file" in page
    settings.IMPORT_MAX_BYTES = 50
    page = upload(boss, GOOD).content.decode()
    assert "the limit is 50" in page
    assert not Order.objects.exists()


def test_a_large_file_runs_as_a_task_and_its_page_shows_the_outcome(
    boss, shop, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from celery import current_app

    monkeypatch.setitem(current_app.conf, "task_always_eager", True)  # the worker's own test is below
    settings.RECEIPT_IMPORT_IN_REQUEST_LINES = 2
    preview = upload(boss, GOOD)
    confirm = preview.context["confirm_form"]
    with django_capture_on_commit_callbacks(execute=True):
        response = boss.post("/admin/orders/receiptimport/process_import/", confirm.initial)
    job = ReceiptImport.objects.get()
    assert response.status_code == 302 and response.url == f"/admin/orders/receiptimport/{job.pk}/progress/"
    assert (job.status, job.orders_created, job.lines_done, job.total_lines) == (ImportStatus.DONE, 3, 4, 4)
    assert Order.objects.count() == 3
    page = boss.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 orders recorded" in page and 'value="100"' in page and "http-equiv" not in page


def test_the_progress_page_refreshes_itself_while_the_import_runs(boss, shop):
    job = ReceiptImport.objects.create(
        file_name="big.csv",
        file_format="csv",
        content=b"",
        status=ImportStatus.RUNNING,
        total_lines=200,
        lines_done=50,
    )
    page = boss.get(f"/admin/orders/receiptimport/{job.pk}/progress/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<meta http-equiv="refresh"' in page and 'value="25"' in page and "50 of 200 lines" in page


def test_a_failed_task_lists_the_rows_to_correct(shop):
    from omni.orders.tasks import import_receipts

    job = ReceiptImport.objects.create(file_name="bad.csv", file_format="csv", content=BAD.encode())
    assert import_receipts(job.pk) == ImportStatus.FAILED
    job.refresh_from_db()
    assert {"line": 3, "field": "store", "messages": ["No location with code XX99."]} in job.row_errors
    assert not Order.objects.exists()


def test_the_list_of_imports_costs_the_same_queries_for_many_imports(boss, shop, django_assert_max_num_queries):
    for n in range(30):
        ReceiptImport.objects.create(file_name=f"f{n}.csv", file_format="csv", content=b"x" * 1000)
    with django_assert_max_num_queries(12):
        assert boss.get("/admin/orders/receiptimport/").status_code == 200


def test_a_store_clerk_imports_their_own_store_and_a_file_naming_another_store_is_refused(client, shop):
    clerk = clerk_of(client, shop["milano"])
    response = upload(clerk, GOOD)
    assert "You may import receipts of your own store only, not of RM01." in response.content.decode()
    assert response.context.get("confirm_form") is None
    own = HEADER + "MI01,R-1,2025-03-14T10:05:00,CAM-ROSSA-M,2,39.90,,card\n"
    preview = upload(clerk, own)
    clerk.post("/admin/orders/receiptimport/process_import/", preview.context["confirm_form"].initial)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["R-1"]


def test_staff_without_the_permission_cannot_import(client, shop):
    user = User.objects.create_user("altro", "a@example.it", "pw-Secret-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_receiptimport"))
    StaffAssignment.objects.create(user=user, location=shop["milano"])
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_imported_by_a_real_worker(celery_worker, network):
    from celery.result import AsyncResult

    stock(network["milano"], network["shirt"], 10)
    text = HEADER + "".join(f"MI01,W-{n},2025-03-14T10:{n:02d}:00,CAM-ROSSA-M,1,39.90,,cash\n" for n in range(5))
    with transaction.atomic():
        job = ReceiptImport.objects.create(file_name="w.csv", file_format="csv", content=text.encode())
        message = outbox.enqueue("orders.import_receipts", import_id=job.pk)
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert AsyncResult(sent.task_id, app=celery_worker).get(timeout=60) == ImportStatus.DONE
    job.refresh_from_db()
    assert (job.status, job.orders_created, job.lines_done) == (ImportStatus.DONE, 5, 5)
    assert StockLevel.objects.get(location=network["milano"], variant=network["shirt"]).on_hand == 5


def test_a_semicolon_separated_file_is_read_by_the_admin_as_by_the_command(boss, shop):
    semicolons = GOOD.replace('"35,00"', "35#00").replace(",", ";").replace("#", ",")
    assert rows(semicolons) == rows(GOOD)  # the command's reader
    preview = upload(boss, semicolons)
    assert preview.status_code == 200
    assert "confirm_form" in preview.context and "138,80" in preview.content.decode()
    boss.post("/admin/orders/receiptimport/process_import/", preview.context["confirm_form"].initial)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["R-1", "R-2", "R-3"]
