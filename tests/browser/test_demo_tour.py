"""The README's tour, in a real browser, on a database the demo seeded, with ids in the thousands.

The demo is written once for the test (small, its ids started at 5,000 as in a shop that has been
trading for a while), then the clerk and the manager walk what the README promises. Any page of the
tour that answers 4xx or 5xx fails the test, and so does any promised content that is empty: the
loyalty panel's points, the hand-over queue, the segment's members, the replenishment proposals.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_ID = 5_000


def start_ids_at(first: int) -> None:
    """Every table's next id is `first` or more: the pages then print ids of four digits and more."""
    with connection.cursor() as cursor:
        for model in apps.get_models():
            pk = model._meta.pk
            if pk is None or pk.get_internal_type() not in ("AutoField", "BigAutoField"):
                continue
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
                sequence = cursor.fetchone()[0]
                if sequence:
                    cursor.execute(
                        "SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM " + sequence + ")))",
                        [
                            sequence,
                            first,
                        ],
                    )
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first])


@pytest.fixture
def demo_shop(transactional_db, settings):
    from kpis import services as kpis
    from omni import demo

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    start_ids_at(FIRST_ID)
    today = timezone.localdate()
    result = demo.seed(scale=0.03, seed=42, until=today)
    kpis.rebuild(start=today - timezone.timedelta(days=40), end=today - timezone.timedelta(days=1))
    return result


def watch(page) -> list[str]:
    """The responses of the page that answered 4xx or 5xx, collected as the tour goes."""
    failures: list[str] = []
    page.on(
        "response",
        lambda response: failures.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    return failures


def number_in(text: str) -> int:
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else 0


def test_the_readme_tour_as_the_clerk_and_as_the_manager(demo_shop, open_as):
    from customers.models import Segment
    from omni.orders.models import Order

    users = get_user_model()
    tour = demo_shop.tour

    # --- The clerk of the first store (negozio) ---
    page = open_as(users.objects.get(username="negozio"), "it")
    failures = watch(page)
    page.goto(f"{page.base}/admin/")
    assert page.locator("#action-handover").count() == 1

    # The hand-over queue has orders to prepare, ready and overdue; its buttons work for ids in the thousands.
    page.goto(f"{page.base}/admin/orders/order/handover/")
    to_prepare = page.locator("#handover-to_prepare tr[data-number]")
    assert to_prepare.count() > 0, "the hand-over queue is empty"
    assert page.locator("#handover-ready tr[data-number]").count() > 0
    number = to_prepare.first.get_attribute("data-number")
    order = Order.objects.get(number=number)
    assert order.pk >= FIRST_ID
    to_prepare.first.get_by_role("button", name="Segna come pronto").click()
    assert number in page.inner_text(".messagelist")
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"

    # A customer found by their card: the loyalty panel shows their points and tier.
    page.goto(f"{page.base}/admin/customers/customer/?q={tour['card']}")  # one match: its page opens
    assert f"/admin/customers/customer/{tour['customer']}/change/" in page.url
    assert int(tour["points"]) > 0
    assert f"{int(tour['points'])}" in page.inner_text("body").replace(".", ""), "no points on the loyalty panel"

    # The stock of a SKU on the clerk's shelves.
    page.goto(f"{page.base}/admin/inventory/stocklevel/?q={tour['sku']}")
    assert page.locator("#result_list tbody tr").count() > 0
    assert not failures, failures

    # --- Head office (direzione) ---
    page = open_as(users.objects.get(username="direzione"), "it")
    failures = watch(page)
    page.goto(f"{page.base}/managers/")
    segment = Segment.objects.get(name="Newsletter: clienti omnicanale")
    assert segment.member_count, "the segment has no members"
    page.goto(f"{page.base}/admin/customers/segment/")
    row = page.locator("#result_list tbody tr", has_text=segment.name)
    assert number_in(row.locator("td.field-member_count").inner_text()) == segment.member_count
    page.goto(f"{page.base}/admin/inventory/replenishmentproposal/")
    assert page.locator("#result_list tbody tr").count() > 0, "no replenishment proposals"
    page.goto(f"{page.base}/admin/returns/return/")
    assert page.locator("#result_list tbody tr").count() > 0, "no returns"
    page.goto(f"{page.base}/admin/returns/return/report/")
    page.goto(f"{page.base}/admin/loyalty/programme/parity/")
    page.goto(f"{page.base}/dashboards/")
    assert page.locator("#kpi-table tbody tr").count() > 0
    assert not failures, failures
