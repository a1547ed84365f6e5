"""Import files are checked before they are read: size, extension and content, in the admin and the commands.

A refused file shows the reason on the import page (error code
``invalid_file``), offers no confirmation and writes nothing; the command
stops with the reason and a non-zero exit.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from inventory.models import StockLevel, StockMovement
from kpis.models import SocialMetric
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

STOCK = b"location,sku,on_hand,reason\nMI-UP,UP-SHIRT,7,count\n"
SOCIAL = b"date,network,likes,shares,comments,mentions,followers\n2025-03-10,instagram,40,1,2,3,900\n"
LIMIT = 1024

# (file name, content, what the page or the command says)
REFUSED = {
    "too_large": ("big.csv", None, "the limit is 1,024"),
    "wrong_extension": ("count.txt", None, "use a .csv or .xlsx file"),
    "xlsx_not_a_zip": ("count.xlsx", None, "is not an Excel workbook"),
    "csv_with_nul_bytes": ("count.csv", None, "is not a text file"),
}


def content_of(case: str, good: bytes) -> bytes:
    if case == "too_large":
        return good + b"\n" * (LIMIT + 1 - len(good))  # a valid file, one byte over the limit
    if case == "xlsx_not_a_zip":
        return good  # CSV text renamed to .xlsx
    if case == "csv_with_nul_bytes":
        return good.replace(b",", b"\x00,", 1)
    return good


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.IMPORT_MAX_BYTES = LIMIT


@pytest.fixture
def places(db):
    LocationFactory(code="MI-UP")
    VariantFactory(sku="UP-SHIRT")


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


def post_import(staff, url: str, name: str, data: bytes):
    return staff.post(url, {"resource": "0", "format": "0", "import_file": SimpleUploadedFile(name, data)})


def assert_refused_on_the_page(response, says: str) -> None:
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    errors = response.context["form"].errors.as_data()["import_file"]
    assert [error.code for error in errors] == ["invalid_file"]
    assert says in response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_stock_count_import_page_refuses_the_file_and_writes_nothing(staff, places, case):
    name, _content, says = REFUSED[case]
    response = post_import(staff, "/admin/inventory/stocklevel/import/", name, content_of(case, STOCK))
    assert_refused_on_the_page(response, says)
    assert not StockLevel.objects.exists() and not StockMovement.objects.exists()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_social_figures_import_page_refuses_the_file_and_writes_nothing(staff, case):
    name, _content, says = REFUSED[case]
    response = post_import(staff, "/admin/kpis/socialmetric/import/", name, content_of(case, SOCIAL))
    assert_refused_on_the_page(response, says)
    assert not SocialMetric.objects.exists()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_import_stock_command_refuses_the_file_and_writes_nothing(tmp_path, places, case):
    name, _content, says = REFUSED[case]
    path = tmp_path / name
    path.write_bytes(content_of(case, STOCK))
    with pytest.raises(CommandError, match=says.replace(".", r"\.")):
        call_command("import_stock", str(path), stdout=io.StringIO())
    assert not StockLevel.objects.exists() and not StockMovement.objects.exists()


def test_a_file_under_the_limit_is_still_previewed(staff, places):
    response = post_import(staff, "/admin/inventory/stocklevel/import/", "count.csv", STOCK)
    assert response.context["form"].errors == {}
    assert response.context["confirm_form"] is not None


def test_the_command_exits_non_zero_with_the_reason(tmp_path, places):
    import subprocess
    import sys

    from django.conf import settings

    path = tmp_path / "count.txt"
    path.write_bytes(STOCK)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_stock", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "use a .csv or .xlsx file" in done.stderr
