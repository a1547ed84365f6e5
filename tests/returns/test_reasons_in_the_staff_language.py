"""Returns read in the staff's language: the list of reasons, the refunds' tenders, the return windows."""

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from returns.models import Return, ReturnPolicy
from tests.returns.conftest import URL, customer_with_points, return_body, web_order
from tests.staff import HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db

DEFAULTS_IT = ["Taglia sbagliata", "Danneggiato o difettoso", "Ripensamento", "Arrivato troppo tardi"]
DEFAULTS_EN = ["Wrong size", "Damaged or faulty", "Changed mind", "Arrived too late"]


@pytest.fixture
def head_office(client):
    client.force_login(staff("direzione", HEAD_OFFICE))
    return client


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.it", "pw-Secret-1"))
    return client


@pytest.mark.parametrize("who", ["head_office", "boss"])
def test_the_list_of_return_reasons_names_them_as_the_clerks_dropdown_does(request, who):
    browser = request.getfixturevalue(who)
    italian = page(browser, "/admin/returns/returnreason/", "it")
    assert all(label in italian for label in DEFAULTS_IT)
    assert not any(label in italian for label in DEFAULTS_EN)
    english = page(browser, "/admin/returns/returnreason/", "en")
    assert all(label in english for label in DEFAULTS_EN)


def test_a_reason_added_in_the_admin_is_listed_as_typed(boss):
    from returns.models import ReturnReason

    ReturnReason.objects.create(code="double_gift", label="Regalo doppio", position=9)
    assert "Regalo doppio" in page(boss, "/admin/returns/returnreason/", "it")


def test_a_refund_names_its_tender_in_italian_on_the_return_and_its_receipt(api, network, boss):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    body = return_body(order, "MI01", refund_to="store_credit")
    ret = Return.objects.get(rma=api.post(URL, body, format="json").json()["rma"])
    for url in (f"/admin/returns/return/{ret.pk}/change/", f"/admin/returns/return/{ret.pk}/receipt/"):
        html = page(boss, url, "it")
        assert "Buono reso" in html and "store_credit" not in html, url
    assert ret.refunds.get().tender == "store_credit"  # the API and the ledgers keep the code


def test_a_return_window_reads_in_days_of_the_staffs_language():
    policy = ReturnPolicy.objects.get(channel__code="web")
    with translation.override("it"):
        assert str(policy) == "Negozio online: 30 giorni"
    with translation.override("en"):
        assert str(policy) == "Web shop: 30 days"
