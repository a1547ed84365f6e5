"""Returns of the same line at the same moment never add up to more than was bought."""

import threading

from django.db import connection
from rest_framework.test import APIClient

from returns.models import ReturnLine
from tests.returns.conftest import URL, customer_with_points, on_hand, return_body, web_order


def test_eight_counters_returning_the_same_three_shirts_at_once_take_back_three(postgres, network, api):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 3)], [("card", "119.70")])
    before = on_hand(network["milano"], network["medium"])
    start = threading.Barrier(8)
    statuses: list[int] = []
    failures: list[BaseException] = []
    key = api.key

    def give_back(index: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        # Half of them open a requested return: it counts just the same.
        body = return_body(order, "MI01", receive=bool(index % 2))
        try:
            start.wait(60)
            response = client.post(URL, body, format="json")
            statuses.append(response.status_code)
            if response.status_code == 409:
                assert response.json()["code"] == "quantity_exceeds_purchased"
            else:
                assert response.status_code == 201, response.content
        except BaseException as error:  # shown by the assertion below, not lost in the thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=give_back, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert sorted(statuses) == [201] * 3 + [409] * 5
    counted = sum(ReturnLine.objects.filter(order_line__order=order).values_list("quantity", flat=True))
    assert counted == 3
    received = ReturnLine.objects.filter(order_line__order=order, ret__status="received").count()
    assert on_hand(network["milano"], network["medium"]) == before + received
