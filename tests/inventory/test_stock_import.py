"""Stock counts from a file: the admin import with its preview and the import_stock command, all or nothing."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from inventory import selectors, services
from inventory.models import StockLevel, StockMovement
from inventory.services import CountRow
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db

GOOD = "location,sku,on_hand,reason\nMI-DUOMO,SHIRT-RED-M,7,spring count\nWH-BO,SHIRT-RED-M,40,\n"
BAD = (
    "location,sku,on_hand,reason\n"
    "MI-DUOMO,SHIRT-RED-M,7,spring count\n"
    "NOWHERE,SHIRT-RED-M,3,\n"
    "WH-BO,SHIRT-RED-M,-2,\n"
    "WH-BO,NO-SKU,1.5,\n"
)


def test_count_many_creates_and_updates_rows_with_one_movement_each(store, warehouse, shirt):
    stock(store, shirt, 2)
    outcomes = services.count_many(
        [CountRow(2, "MI-DUOMO", "SHIRT-RED-M", "7", "spring"), CountRow(3, "WH-BO", "SHIRT-RED-M", 40.0)]
    )
    assert [(o.before, o.on_hand) for o in outcomes] == [(2, 7), (None, 40)]
    assert (level_of(store, shirt).on_hand, level_of(warehouse, shirt).on_hand) == (7, 40)
    assert StockMovement.objects.filter(kind="count").count() == 3
    assert selectors.ledger_differences() == []


@pytest.mark.postgres_only(
    "a bulk insert is one statement on PostgreSQL; SQLite splits it into batches of 999 variables"
)
def test_count_many_costs_the_same_queries_for_three_rows_as_for_three_hundred(django_assert_max_num_queries, shirt):
    from tests.factories import LocationFactory

    places = LocationFactory.create_batch(300)
    rows = [CountRow(i + 2, p.code, "SHIRT-RED-M", i) for i, p in enumerate(places)]
    with django_assert_max_num_queries(12):
        services.count_many(rows)
    assert StockLevel.objects.count() == 300


def test_one_bad_row_stops_the_whole_file_and_names_every_bad_row(store, warehouse, shirt):
    rows = [
        CountRow(2, "MI-DUOMO", "SHIRT-RED-M", 7),
        CountRow(3, "NOWHERE", "SHIRT-RED-M", 3),
        CountRow(4, "WH-BO", "SHIRT-RED-M", -2),
        CountRow(5, "MI-DUOMO", "SHIRT-RED-M", 8),
    ]
    with pytest.raises(services.CountFileInvalid) as refused:
        services.count_many(rows)
    assert set(refused.value.row_errors) == {3, 4, 5}
    assert "location" in refused.value.row_errors[3] and "on_hand" in refused.value.row_errors[4]
    assert not StockLevel.objects.exists() and not StockMovement.objects.exists()


def write(tmp_path, text: str):
    path = tmp_path / "count.csv"
    path.write_text(text)
    return path


def test_the_command_dry_run_shows_the_changes_and_writes_nothing(tmp_path, store, warehouse, shirt):
    out = io.StringIO()
    call_command("import_stock", str(write(tmp_path, GOOD)), "--dry-run", stdout=out)
    assert "2 row(s) counted, 2 would change (dry run)" in out.getvalue()
    assert not StockLevel.objects.exists()


def test_the_command_imports_a_good_file(tmp_path, store, warehouse, shirt):
    call_command("import_stock", str(write(tmp_path, GOOD)), stdout=io.StringIO())
    assert level_of(warehouse, shirt).on_hand == 40
    assert StockMovement.objects.get(location=store).reason == "spring count"


def test_the_command_refuses_a_bad_file_listing_its_rows(tmp_path, store, warehouse, shirt):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_stock", str(write(tmp_path, BAD)), stdout=io.StringIO(), stderr=err)
    assert "row 3, location" in err.getvalue() and "row 5, sku" in err.getvalue()
    assert not StockLevel.objects.exists()


def test_the_command_refuses_a_file_without_the_columns(tmp_path, shirt):
    with pytest.raises(CommandError, match="missing: on_hand"):
        call_command("import_stock", str(write(tmp_path, "location,sku\nA,B\n")), stdout=io.StringIO())


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


def upload(staff, text: str):
    csv_index = 0  # CSV is the first format offered
    file = io.BytesIO(text.encode())
    file.name = "count.csv"  # as a browser sends it: the import checks the extension
    return staff.post(
        "/admin/inventory/stocklevel/import/",
        {"format": csv_index, "import_file": file, "resource": 0},
        format="multipart",
    )


def test_the_admin_import_previews_then_applies_the_file(staff, store, warehouse, shirt):
    stock(store, shirt, 2)
    preview = upload(staff, GOOD)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "WH-BO" in page and "+5" in page and "+40" in page
    assert level_of(store, shirt).on_hand == 2  # a preview writes nothing
    confirm = preview.context["confirm_form"]
    response = staff.post("/admin/inventory/stocklevel/process_import/", confirm.initial)
    assert response.status_code == 302
    assert (level_of(store, shirt).on_hand, level_of(warehouse, shirt).on_hand) == (7, 40)
    assert StockMovement.objects.filter(user__username="capo").count() == 2


def test_the_admin_import_shows_each_bad_row_and_offers_no_confirmation(staff, store, warehouse, shirt):
    response = upload(staff, BAD)
    page = response.content.decode()
    assert "No location with code NOWHERE" in page and "No variant with SKU NO-SKU" in page
    assert response.context.get("confirm_form") is None
    assert not StockLevel.objects.exists()


def test_the_import_page_says_which_columns_the_file_needs(staff):
    page = staff.get("/admin/inventory/stocklevel/import/")
    assert page.status_code == 200
    assert "location, sku, on_hand, reason" in page.content.decode()


def test_the_command_reads_a_spreadsheet_too(tmp_path, store, warehouse, shirt):
    pytest.importorskip("openpyxl", reason="XLSX needs openpyxl (tablib[xlsx]) installed")
    import tablib

    sheet = tablib.Dataset(headers=["location", "sku", "on_hand", "reason"])
    sheet.append(["WH-BO", "SHIRT-RED-M", 12, "year-end"])
    path = tmp_path / "count.xlsx"
    path.write_bytes(sheet.export("xlsx"))
    call_command("import_stock", str(path), stdout=io.StringIO())
    assert level_of(warehouse, shirt).on_hand == 12
