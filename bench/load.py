"""Load test: the hottest read (availability) and write (order) endpoints under concurrent clients.

gunicorn serves the project on a free loopback port, against the same
database as the other benchmarks, with a few sync workers. Several client
threads, each with its own keep-alive connection (`http.client`), call one
endpoint as fast as they can for a bounded time; each request's latency is
kept. The floor of each endpoint is measured in the same run with the same
number of concurrent clients, without HTTP: the raw SQL query that answers
the availability question, and the raw INSERT of the same order.

Each endpoint gives two lines: the throughput (requests per second) and the
latency (median, with the 95th percentile beside it).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.db import connection

from bench.harness import Result
from bench.inventory import LOCATIONS, network_of, raw_query
from bench.orders import insert_raw_order
from inventory import services as inventory
from loyalty.pricing import LineIn, quote_basket
from omni.api.keys import create_client
from omni.catalog.models import Channel, Location, LocationKind, Variant
from omni.models import ALL_SCOPES, ApiClient

ROOT = Path(__file__).resolve().parent.parent
CLIENT_NAME = "bench-load"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shared_cache_url() -> str | None:
    """The shared cache production requires (CACHE_URL): Redis beside the broker, in its database 1, as
    bench.system runs it too. None without a Redis broker: the workers then keep their own cache."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    return broker.rsplit("/", 1)[0] + "/1" if broker.startswith("redis://") else None


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env["ALLOWED_HOSTS"] = "localhost,127.0.0.1,testserver"
    # The rate limit and the webhooks' cached event types in Redis, as in production, whose figures these are.
    env.pop("CACHE_URL", None)
    if shared_cache_url():
        env["CACHE_URL"] = shared_cache_url()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "omni.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/availability/", headers={"Host": "localhost"})
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer in time")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Http:
    """One client's keep-alive connection; it reconnects when the server closes it."""

    def __init__(self, port: int, key: str):
        self.port = port
        self.headers = {"Host": "localhost", "Authorization": f"Bearer {key}", "Connection": "keep-alive"}
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: bytes | None = None, idempotency_key: str = "") -> int:
        headers = dict(self.headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def drive(clients: int, seconds: float, make_call: Callable[[int], Callable[[], None]]) -> tuple[float, list[float]]:
    """Run `clients` threads calling their function for `seconds`; returns (calls per second, latencies in ms)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        try:
            call = make_call(index)
            start.wait()
            mine = latencies[index]
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                call()
                mine.append((time.perf_counter() - began) * 1000)
        except BaseException as error:  # reported after the run
            errors.append(error)
            start.abort()
        finally:
            connection.close()  # the thread's own database connection, if it opened one

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds + 3600  # until the barrier opens
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: reported below
        start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"load test client failed: {errors[0]!r}") from errors[0]
    samples = sorted(ms for bucket in latencies for ms in bucket)
    return len(samples) / elapsed, samples


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return float("nan")
    index = max(0, min(len(samples) - 1, round(share * len(samples)) - 1))
    return samples[index]


def results_of(
    what: str, label: str, rate: float, samples: list[float], floor_name: str, floor_rate: float, floor: list[float]
) -> list[Result]:
    extra = {
        "requests": len(samples),
        "p50_ms": statistics.median(samples) if samples else None,
        "p95_ms": percentile(samples, 0.95),
        "baseline_p50_ms": statistics.median(floor) if floor else None,
        "baseline_p95_ms": percentile(floor, 0.95),
    }
    return [
        Result(
            name=f"load: {what}, {label} (throughput)",
            figure=rate,
            unit="req/s",
            baseline=floor_rate,
            baseline_name=f"{floor_name}, same concurrency",
            extra=extra,
        ),
        Result(
            name=f"load: {what}, {label} (latency)",
            figure=extra["p50_ms"] or 0.0,
            unit="ms (median)",
            p95=extra["p95_ms"],
            baseline=extra["baseline_p50_ms"] or 0.0,
            baseline_p95=extra["baseline_p95_ms"],
            baseline_name=f"{floor_name}, same concurrency",
            extra=extra,
        ),
    ]


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if connection.vendor != "postgresql":
        return []  # the load test needs a database that several processes share
    seconds = 0.5 if smoke else float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
    clients = 2 if smoke else int(os.environ.get("BENCH_LOAD_CLIENTS", "4"))
    workers = 2 if smoke else int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
    cache = "the cache on Redis" if shared_cache_url() else "a cache per process"
    label = f"{clients} clients, gunicorn {workers} workers, {cache}"

    web_variant = Variant.objects.filter(product__channels__code="web").order_by("pk").first()
    store = Location.objects.filter(kind=LocationKind.STORE, is_active=True).order_by("pk").first()
    till = Channel.objects.filter(code="store").first()
    # One variant per client, so the clients' orders do not all queue on one stock row.
    for_sale = list(Variant.objects.filter(product__channels__code="store", is_active=True).order_by("pk")[:clients])
    if web_variant is None or store is None or till is None or len(for_sale) < clients:
        return []
    network_of(web_variant, 20 if smoke else LOCATIONS[0])  # the smaller of the two sizes
    prices = {}
    for variant in for_sale:
        inventory.count(location=store, variant=variant, on_hand=1_000_000, reason="load test")
        prices[variant.sku] = quote_basket(channel=till, lines=[LineIn(variant.sku, 1)]).total

    ApiClient.objects.filter(name=CLIENT_NAME).delete()
    _, key = create_client(name=CLIENT_NAME, scopes=ALL_SCOPES)
    run_id = random.randrange(16**6)
    numbers = itertools.count(random.randrange(10**8, 9 * 10**8))
    availability_path = f"/api/v1/availability/?sku={web_variant.sku}&channel=web&near=45.46,9.19"
    sql, params = raw_query(web_variant.sku)

    def get_availability(index: int) -> Callable[[], None]:
        client = Http(port, key)

        def call() -> None:
            status = client.call("GET", availability_path)
            assert status == 200, status

        return call

    def raw_availability(index: int) -> Callable[[], None]:
        def call() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        return call

    def post_order(index: int) -> Callable[[], None]:
        client = Http(port, key)
        variant = for_sale[index]
        amount = str(prices[variant.sku])

        def call() -> None:
            n = next(numbers)
            body = {
                "channel": "store",
                "location": store.code,
                "external_id": f"LOAD-{run_id:06x}-{n}",
                "identifiers": [{"kind": "email", "value": f"load{index}-{n % 50}@example.it"}],
                "lines": [{"sku": variant.sku, "quantity": 1}],
                "fulfilment": {"type": "carry_out"},
                "payments": [{"tender": "card", "amount": amount}],
            }
            key = f"load-{run_id:06x}-{n}"  # as a till sends it: the order's POST may be retried safely
            status = client.call("POST", "/api/v1/orders/", json.dumps(body).encode(), idempotency_key=key)
            assert status == 201, status

        return call

    def raw_order(index: int) -> Callable[[], None]:
        variant = for_sale[index]
        price = Decimal(prices[variant.sku])

        def call() -> None:
            insert_raw_order(channel=till, store=store, variant=variant, price=price, n=next(numbers))

        return call

    port = free_port()
    server = start_gunicorn(port, workers)
    try:
        wait_until_serving(server, port)
        warm = Http(port, key)  # every worker loads its code and opens its connection before the clock runs
        for _ in range(workers * 3):
            warm.call("GET", availability_path)
        read_rate, read = drive(clients, seconds, get_availability)
        write_rate, write = drive(clients, seconds, post_order)
    finally:
        stop(server)
        ApiClient.objects.filter(name=CLIENT_NAME).delete()
    sql_rate, sql_samples = drive(clients, seconds, raw_availability)
    insert_rate, insert_samples = drive(clients, seconds, raw_order)
    return [
        *results_of("availability GET over gunicorn", label, read_rate, read, "raw SQL query", sql_rate, sql_samples),
        *results_of(
            "order POST over gunicorn with an Idempotency-Key (identify + price + take + earn)",
            label,
            write_rate,
            write,
            "raw INSERT of the same order",
            insert_rate,
            insert_samples,
        ),
    ]
