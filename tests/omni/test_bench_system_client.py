"""The system load test's client counts what it should: an unexpected answer is an error, never a sample.

The load test (`bench.system`) reports errors per kind of request and claims
none; that claim is only as good as the client's accounting. Here a stub
server answers as Omni does, except that the dashboards fail: the client must
count every dashboard answer as an error, every order once, and every order
sent again with its key as a replay only when the answer says it was replayed.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.system import Plan, client_loop


class Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    orders: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:
        if self.path.startswith("/dashboards/"):
            self.answer(500, {"detail": "boom"})
        else:
            self.answer(200, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/v1/events/":
            self.answer(202, {"accepted": len(body), "duplicates": 0})
            return
        key = self.headers["Idempotency-Key"]
        with self.lock:
            seen = self.orders.get(key, 0)
            self.orders[key] = seen + 1
        self.answer(201, {"number": key}, {"Idempotent-Replayed": "true"} if seen else None)


def test_the_client_counts_failures_as_errors_and_each_order_and_replay_once():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        plan = Plan(
            port=server.server_address[1],
            key="k",
            cookies={"sessionid": "s"},
            run_id="t",
            store="MI01",
            skus=["SKU-1"],
            prices={"SKU-1": "10.00"},
            availability_path="/api/v1/availability/?sku=SKU-1",
            kpis_path="/api/v1/kpis/",
            dashboards=["/dashboards/", "/dashboards/channels/"],
            seconds=1.0,
            start_at=time.time(),
        )
        tally = client_loop(0, plan)
    finally:
        server.shutdown()
        server.server_close()

    assert tally.errors["dashboard"] > 0 and not tally.latencies["dashboard"]
    assert sum(tally.errors.values()) == tally.errors["dashboard"]
    assert tally.orders_created == len(Stub.orders) == len(tally.latencies["order"]) > 0
    replays = sum(count - 1 for count in Stub.orders.values())
    assert replays == len(tally.latencies["order replay"]) > 0
    assert tally.events_accepted == 50 * len(tally.latencies["events"]) > 0
    assert tally.examples and tally.examples[0].startswith("dashboard: 500")
