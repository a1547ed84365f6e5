"""Return figures for the KPIs and the returns report."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from returns import selectors
from returns.models import Return
from tests.returns.conftest import URL, customer_with_points, return_body, till_sale, web_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def returned(api, network):
    """Two web orders returned in Milano (a shirt) and Roma (a tie); a till sale returned at the warehouse."""
    first = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    second = web_order(customer_with_points(), [("CRAVATTA", 1)], [("card", "19.90")])
    sale = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("cash", "39.90")])
    api.post(URL, return_body(first, "MI01"), format="json")
    tie = [{"sku": "CRAVATTA", "quantity": 1, "reason": "not_as_described", "condition": "damaged"}]
    api.post(URL, return_body(second, "RM01", lines=tie), format="json")
    api.post(URL, return_body(sale, "WH-PC"), format="json")
    api.post(URL, return_body(first, None, receive=False), format="json")  # requested: not in the figures
    return {"first": first, "second": second, "sale": sale}


def test_daily_figures_group_received_returns_by_day_channel_and_locations_in_one_query(
    returned, network, django_assert_num_queries
):
    today = timezone.localdate()
    with django_assert_num_queries(1):
        rows = selectors.daily_return_figures(today - timedelta(days=1), today)
    web, store = returned["first"].channel_id, returned["sale"].channel_id
    assert sorted(rows, key=lambda r: r["location_id"]) == sorted(
        [
            {"day": today, "channel_id": web, "location_id": network["milano"].pk, "order_location_id": None,
             "returns": 1, "units": 1, "amount": Decimal("39.90")},
            {"day": today, "channel_id": web, "location_id": network["roma"].pk, "order_location_id": None,
             "returns": 1, "units": 1, "amount": Decimal("19.90")},
            {"day": today, "channel_id": store, "location_id": network["warehouse"].pk,
             "order_location_id": network["milano"].pk, "returns": 1, "units": 1, "amount": Decimal("39.90")},
        ],
        key=lambda r: r["location_id"],
    )  # fmt: skip
    assert selectors.daily_return_figures(today - timedelta(days=9), today - timedelta(days=1)) == []


def test_a_return_received_just_after_midnight_in_rome_counts_on_that_rome_day(returned):
    ret = Return.objects.filter(status="received").first()
    rome_midnight = timezone.make_aware(timezone.datetime(2026, 3, 10, 0, 30))
    Return.objects.filter(pk=ret.pk).update(received_at=rome_midnight)
    rows = selectors.daily_return_figures(rome_midnight.date(), rome_midnight.date())
    assert [r["day"] for r in rows] == [rome_midnight.date()]


def test_return_rates_by_channel_product_reason_and_store(returned):
    today = timezone.localdate()
    by_channel = {row.key: row for row in selectors.return_rate_by_channel(today, today)}
    assert (by_channel["web"].sold, by_channel["web"].returned, by_channel["web"].rate) == (3, 2, Decimal("66.7"))
    assert (by_channel["store"].sold, by_channel["store"].returned, by_channel["store"].rate) == (
        1,
        1,
        Decimal("100.0"),
    )

    by_product = {row.key: row for row in selectors.return_rate_by_product(today, today)}
    assert (by_product["CAM-ROSSA"].sold, by_product["CAM-ROSSA"].returned) == (3, 2)
    assert by_product["CRAV"].rate == Decimal("100.0")

    by_reason = {row.key: row for row in selectors.returns_by_reason(today, today)}
    assert (by_reason["wrong_size"].returned, by_reason["not_as_described"].returned) == (2, 1)

    by_store = {row.key: row for row in selectors.return_rate_by_store(today, today)}
    assert by_store["MI01"].returns == 1 and by_store["MI01"].sold == 1
    assert by_store["WH-PC"].returns == 1 and by_store["WH-PC"].rate is None


def test_the_share_of_online_orders_returned_in_stores(returned):
    today = timezone.localdate()
    figures = selectors.online_returned_in_store(today, today)
    assert (figures.online_returns, figures.in_store, figures.share) == (2, 2, Decimal("100.0"))
