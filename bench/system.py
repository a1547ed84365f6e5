"""System load test: the whole of Omni under mixed traffic, started as production starts it.

What runs, each in its own process, against the benchmark's PostgreSQL (the
primary), its streaming replica (`DATABASE_REPLICA_URLS`, which
`tests/services.sh` starts beside it) and Redis:

- gunicorn with several sync workers and `omni.settings_production`, after
  `collectstatic`, with Redis as the shared cache, as the README's production
  start has it;
- two Celery workers on different queues: `orders,webhooks` and
  `kpis,imports,scheduled,celery`;
- client processes, each with its own keep-alive connection, sending a
  weighted mix for a fixed time: orders through the API with an
  `Idempotency-Key` (one in ten sent twice, as a client that lost the answer
  does: the second must replay the first 201), availability reads, the KPI
  endpoint and the dashboards (both read from the replica), and batches of
  touchpoint events.

The clients here are a small HTTP client of this module's own (the order
benchmark of `bench.orders` times the order path alone; this one times the
system under a mix). The same mix then runs for the same time against one
gunicorn worker (the baseline of each figure), and, when there is a replica,
once more with the replica off (every read on the primary: the baseline of
the KPI endpoint and the dashboards read from the replica).

It reports, per kind of request: throughput, median and p95 latency and
errors (any answer but the expected one, with the first few kept); the
transactions each database served while the traffic ran
(`pg_stat_database.xact_commit` read on the primary and on the replica; the
replica's count includes each web process's lag check, at most one every 2 s);
and, when the traffic stops, the work still waiting for the workers (outbox
rows not handed to Celery, messages in the queues and unacknowledged ones)
and the seconds until all of it is done.

    tests/services.sh .venv/bin/python -m bench --only system [--scale 0.2]
    tests/services.sh .venv/bin/python -m bench --only system --smoke   # seconds, tiny sizes, nothing written

BENCH_SYSTEM_SECONDS (60), BENCH_SYSTEM_CLIENTS (4) and BENCH_SYSTEM_WORKERS
(3) change the run. PostgreSQL and Redis only; on anything else it reports
nothing.
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench.harness import Result
from bench.load import free_port, percentile, shared_cache_url, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
CLIENT_NAME = "bench-system"
STAFF_USER = "bench-system-head-office"
STAFF_PASSWORD = "bench-system-Head-office-pw-7"  # a throw-away login of the benchmark's own
SECRET_KEY = "bench-system-" + "Yv3nQ8rT1wK6zM2pL9sD4fH7jB0xC5" * 2

# The mix: how often each kind of request is picked, per client, at each step.
MIX = {"order": 30, "availability": 35, "events": 15, "kpis": 12, "dashboard": 8}
EVENTS_PER_BATCH = 50
REPLAY_EVERY = 10  # one order in ten is sent again with the same Idempotency-Key
KINDS = [*MIX, "order replay"]
WORKERS = (("orders-webhooks", "orders,webhooks"), ("kpis-imports-scheduled", "kpis,imports,scheduled,celery"))


@dataclass
class Plan:
    """What a client process needs, all plain data: the clients never touch the database."""

    port: int
    key: str
    cookies: dict[str, str]
    run_id: str
    store: str
    skus: list[str]
    prices: dict[str, str]
    availability_path: str
    kpis_path: str
    dashboards: list[str]
    seconds: float
    start_at: float  # time.time() at which every client starts


@dataclass
class Tally:
    """One client's record: per kind, the latencies (ms) of the expected answers, and the unexpected ones."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    examples: list[str] = field(default_factory=list)
    orders_created: int = 0
    events_accepted: int = 0

    def fail(self, kind: str, status: int, body: bytes) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {status} {body[:200]!r}")


class Client:
    """A keep-alive HTTP connection that answers status, headers and body; it reconnects when closed."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        self.headers = {"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https", **headers}
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {**self.headers, **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                content = response.read()
                answer = {k.lower(): v for k, v in response.getheaders()}
                if answer.get("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, answer, content
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def client_loop(index: int, plan: Plan) -> Tally:
    """One client process: the weighted mix, one request at a time, until the time is up."""
    rng = random.Random(index)
    api = Client(plan.port, {"Authorization": f"Bearer {plan.key}", "Accept-Language": "en"})
    cookie = "; ".join(f"{k}={v}" for k, v in plan.cookies.items())
    browser = Client(plan.port, {"Cookie": cookie, "Accept-Language": "en"})
    tally = Tally()
    kinds, weights = list(MIX), list(MIX.values())
    numbers = itertools.count()
    sku = plan.skus[index % len(plan.skus)]
    # Open both connections before the clock runs.
    api.call("GET", plan.availability_path)
    browser.call("GET", plan.dashboards[0])
    time.sleep(max(0.0, plan.start_at - time.time()))
    stop_at = time.perf_counter() + plan.seconds
    while time.perf_counter() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        n = next(numbers)
        began = time.perf_counter()
        if kind == "order":
            body = json.dumps(
                {
                    "channel": "store",
                    "location": plan.store,
                    "external_id": f"SYS-{plan.run_id}-{index}-{n}",
                    "identifiers": [{"kind": "email", "value": f"system{index}-{n % 50}@example.it"}],
                    "lines": [{"sku": sku, "quantity": 1}],
                    "fulfilment": {"type": "carry_out"},
                    "payments": [{"tender": "card", "amount": plan.prices[sku]}],
                }
            ).encode()
            idempotency = {"Idempotency-Key": f"sys-{plan.run_id}-{index}-{n}"}
            status, headers, content = api.call("POST", "/api/v1/orders/", body, idempotency)
            if status == 201 and "idempotent-replayed" not in headers:
                tally.orders_created += 1
                tally.latencies[kind].append((time.perf_counter() - began) * 1000)
            else:
                tally.fail(kind, status, content)
            if n % REPLAY_EVERY == 0:
                began = time.perf_counter()
                status, headers, content = api.call("POST", "/api/v1/orders/", body, idempotency)
                if status == 201 and headers.get("idempotent-replayed") == "true":
                    tally.latencies["order replay"].append((time.perf_counter() - began) * 1000)
                else:
                    tally.fail("order replay", status, content)
            continue
        if kind == "events":
            now = time.time()
            batch = [
                {
                    "id": f"sys-{plan.run_id}-{index}-{n}-{e}",
                    "type": "page_view",
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - rng.randrange(86400))),
                    "channel": "web",
                    "session_id": f"sys-{index}-{n}",
                    "device_id": f"sys-{index}-{n % 97}",
                    "properties": {"sku": sku},
                }
                for e in range(EVENTS_PER_BATCH)
            ]
            status, _, content = api.call("POST", "/api/v1/events/", json.dumps(batch).encode())
            expected = 202
            if status == expected:
                tally.events_accepted += json.loads(content)["accepted"]
        elif kind == "availability":
            status, _, content = api.call("GET", plan.availability_path)
            expected = 200
        elif kind == "kpis":
            status, _, content = api.call("GET", plan.kpis_path)
            expected = 200
        else:
            status, _, content = browser.call("GET", plan.dashboards[n % len(plan.dashboards)])
            expected = 200
        if status == expected:
            tally.latencies[kind].append((time.perf_counter() - began) * 1000)
        else:
            tally.fail(kind, status, content)
    return tally


def _client_entry(args: tuple[int, Plan]) -> Tally:
    return client_loop(*args)


def drive_clients(plan: Plan, clients: int) -> tuple[Tally, float]:
    """Fork `clients` processes, run them together, and merge their tallies; also the seconds they ran."""
    from django.db import connections

    connections.close_all()  # the forked clients must not inherit this process's database sockets
    context = multiprocessing.get_context("fork")
    with context.Pool(clients) as pool:
        tallies = pool.map(_client_entry, [(i, plan) for i in range(clients)])
    merged = Tally()
    for tally in tallies:
        for kind in KINDS:
            merged.latencies[kind] += tally.latencies[kind]
            merged.errors[kind] += tally.errors[kind]
        merged.examples += tally.examples
        merged.orders_created += tally.orders_created
        merged.events_accepted += tally.events_accepted
    return merged, plan.seconds


# --- the processes -------------------------------------------------------------------------------------------


def production_env(static_root: Path) -> dict[str, str]:
    """The README's production environment, on this run's services."""
    cache_url = shared_cache_url()
    if cache_url is None:
        raise RuntimeError("needs a Redis broker in CELERY_BROKER_URL: tests/services.sh starts one")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="omni.settings_production",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CACHE_URL=cache_url,
        STATIC_ROOT=str(static_root),
        DB_CONN_MAX_AGE="60",
        API_THROTTLE_RATE="100000000/min",
        CELERY_LOG_LEVEL="WARNING",
    )
    return env


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "omni.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning", "--timeout", "120"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_worker(name: str, queues: str, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "omni", "worker", "-Q", queues, "-c", "1"]
    command += ["--hostname", f"{name}@bench", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_workers(names: list[str], timeout: float = 120.0) -> None:
    from omni.celery import app

    deadline = time.monotonic() + timeout
    wanted = {f"{name}@bench" for name in names}
    while time.monotonic() < deadline:
        answered = {host for reply in app.control.ping(timeout=1.0) for host in reply}
        if wanted <= answered:
            return
    raise RuntimeError(f"Celery workers did not answer: {sorted(wanted)}")


def log_in(port: int, username: str, password: str) -> dict[str, str]:
    """Log in through the admin's form as a browser does; the session and CSRF cookies."""
    cookies: dict[str, str] = {}

    def request(method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        origin = f"https://127.0.0.1:{port}"
        headers = {"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            headers.update(
                {"Origin": origin, "Referer": origin + path, "Content-Type": "application/x-www-form-urlencoded"}
            )
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, rest = value.partition("=")
                cookies[cookie] = rest.split(";", 1)[0]
        conn.close()
        return response.status, content

    status, page = request("GET", "/admin/login/")
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or found is None:
        raise RuntimeError(f"admin login page answered {status}")
    token = found.group(1).decode()
    body = f"csrfmiddlewaretoken={token}&username={username}&password={password}&next=/dashboards/"
    status, page = request("POST", "/admin/login/?next=/dashboards/", body)
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"admin login answered {status}: {page[:300]!r}")
    return cookies


# --- what the databases and the queues say --------------------------------------------------------------------


def transactions(alias: str) -> int:
    """Transactions committed so far on that database server (its own count: a standby counts its reads)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def waiting_work(broker) -> dict[str, int]:
    """Work not done yet: outbox rows not handed to Celery, messages queued, messages taken and not finished."""
    from django.conf import settings

    from omni.models import OutboxMessage

    return {
        "unsent": OutboxMessage.objects.filter(sent_at__isnull=True).count(),
        "queued": sum(broker.llen(queue) for queue in settings.WORKER_QUEUES),
        "unacked": broker.hlen("unacked"),
    }


def drain(broker, timeout: float) -> tuple[dict[str, int], float, int]:
    """What waited when the traffic stopped, the seconds until nothing waits, and how many rows the relay sent.

    Beat is not running here: an outbox row whose publish timed out after its commit is sent by the relay,
    as beat's `omni.relay_outbox` would (every minute in production; here as soon as it is seen).
    """
    from omni import outbox

    began = time.perf_counter()
    at_stop = waiting_work(broker)
    relayed = 0
    now = at_stop
    while any(now.values()):
        if time.perf_counter() - began > timeout:
            return at_stop, float("inf"), relayed
        if now["unsent"]:
            relayed += outbox.relay()
        time.sleep(0.1)
        now = waiting_work(broker)
    return at_stop, time.perf_counter() - began, relayed


# --- the run -----------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    workers: int
    tally: Tally
    seconds: float
    primary_xacts: int
    replica_xacts: int
    waiting: dict[str, int]
    drain_seconds: float
    relayed: int
    orders_in_db: int
    load: float  # the machine's load average over the last minute, when the traffic stopped


def run_phase(label: str, workers: int, clients: int, seconds: float, plan_of, env, broker, replica) -> Phase:
    from django.db import DEFAULT_DB_ALIAS, connections

    from omni.orders.models import Order

    port = free_port()
    server = start_gunicorn(port, workers, env)
    try:
        wait_until_serving(server, port)
        cookies = log_in(port, STAFF_USER, STAFF_PASSWORD)
        plan = plan_of(port, cookies, seconds)
        primary_before = transactions(DEFAULT_DB_ALIAS)
        replica_before = transactions(replica) if replica else 0
        tally, ran = drive_clients(plan, clients)
        load = os.getloadavg()[0]
    finally:
        stop(server)  # its database sessions end, and with them their statistics are flushed
    connections.close_all()
    time.sleep(1.0)  # the server's last backends exit and report
    primary_xacts = transactions(DEFAULT_DB_ALIAS) - primary_before
    replica_xacts = (transactions(replica) - replica_before) if replica else 0
    waiting, drained_in, relayed = drain(broker, timeout=600)
    orders_in_db = Order.objects.filter(external_id__startswith=f"SYS-{plan.run_id}-").count()
    return Phase(
        label, workers, tally, ran, primary_xacts, replica_xacts, waiting, drained_in, relayed, orders_in_db, load
    )


def describe(phase: Phase) -> str:
    lines = [f"system [{phase.label}], {phase.seconds:g} s, load average {phase.load:.1f} on {os.cpu_count()} cores:"]
    for kind in KINDS:
        samples = sorted(phase.tally.latencies[kind])
        if not samples and not phase.tally.errors[kind]:
            continue
        median = statistics.median(samples) if samples else 0.0
        lines.append(
            f"  {kind:13s} {len(samples) / phase.seconds:8.1f}/s  median {median:7.1f} ms"
            f"  p95 {percentile(samples, 0.95):7.1f} ms  errors {phase.tally.errors[kind]}"
        )
    lines.append(
        f"  orders answered 201: {phase.tally.orders_created}, recorded in the database: {phase.orders_in_db}; "
        f"events accepted: {phase.tally.events_accepted} ({phase.tally.events_accepted / phase.seconds:.0f}/s)"
    )
    total = phase.primary_xacts + phase.replica_xacts
    share = phase.replica_xacts / total if total else 0.0
    lines.append(f"  transactions: primary {phase.primary_xacts}, replica {phase.replica_xacts} ({share:.1%} of all)")
    lines.append(
        f"  waiting when the traffic stopped: {phase.waiting}; drained in {phase.drain_seconds:.1f} s "
        f"(the relay sent {phase.relayed})"
    )
    lines += [f"  error: {example}" for example in phase.tally.examples]
    return "\n".join(lines)


def results_of(subject: Phase, baseline: Phase, label: str) -> list[Result]:
    results = []
    base_name = f"the same mix on gunicorn {baseline.workers} worker"
    for kind in KINDS:
        now, before = sorted(subject.tally.latencies[kind]), sorted(baseline.tally.latencies[kind])
        if not now or not before:
            continue
        extra = {
            "requests": len(now),
            "errors": subject.tally.errors[kind],
            "baseline_requests": len(before),
            "baseline_errors": baseline.tally.errors[kind],
            "seconds": subject.seconds,
            "load_average": subject.load,
            "baseline_load_average": baseline.load,
        }
        results.append(
            Result(
                name=f"system: {kind}, {label} (throughput)",
                figure=len(now) / subject.seconds,
                unit="req/s",
                baseline=len(before) / baseline.seconds,
                baseline_name=base_name,
                notes=(
                    f"errors {subject.tally.errors[kind]} (baseline {baseline.tally.errors[kind]}); load average "
                    f"{subject.load:.1f} (baseline {baseline.load:.1f}) on {os.cpu_count()} cores"
                ),
                extra=extra,
            )
        )
        results.append(
            Result(
                name=f"system: {kind}, {label} (latency)",
                figure=statistics.median(now),
                unit="ms (median)",
                p95=percentile(now, 0.95),
                baseline=statistics.median(before),
                baseline_p95=percentile(before, 0.95),
                baseline_name=base_name,
                extra=extra,
            )
        )
    results.append(
        Result(
            name=f"system: events ingested through the API, {label}",
            figure=subject.tally.events_accepted / subject.seconds,
            unit="events/s",
            baseline=baseline.tally.events_accepted / baseline.seconds,
            baseline_name=base_name,
        )
    )
    results.append(
        Result(
            name=f"system: transactions served by the replica, {label}",
            figure=subject.replica_xacts / subject.seconds,
            unit="xact/s",
            baseline=subject.primary_xacts / subject.seconds,
            baseline_name="transactions served by the primary, same run (web and workers)",
        )
    )
    waiting = sum(subject.waiting.values())
    results.append(
        Result(
            name=f"system: seconds to drain the work waiting when the traffic stopped, {label}",
            figure=subject.drain_seconds,
            unit="s",
            baseline=subject.seconds,
            baseline_name="seconds of traffic",
            notes=f"{waiting} messages waiting (outbox unsent + queued + unacknowledged)",
            extra={**subject.waiting, "relayed": subject.relayed},
        )
    )
    return results


def replica_results(subject: Phase, without: Phase, label: str) -> list[Result]:
    """The reads that go to the replica, against the same mix with the replica off (every read on the primary)."""
    results = []
    for kind in ("kpis", "dashboard"):
        now, before = sorted(subject.tally.latencies[kind]), sorted(without.tally.latencies[kind])
        if now and before:
            results.append(
                Result(
                    name=f"system: {kind} read from the replica, {label} (latency)",
                    figure=statistics.median(now),
                    unit="ms (median)",
                    p95=percentile(now, 0.95),
                    baseline=statistics.median(before),
                    baseline_p95=percentile(before, 0.95),
                    baseline_name="the same mix with the replica off (read from the primary)",
                )
            )
    return results


def prepare(*, clients: int, smoke: bool) -> dict:
    """The benchmark's data: stock to sell, a network for availability, rolled-up KPIs, a key and a login."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from bench.inventory import LOCATIONS, network_of
    from inventory import services as inventory
    from kpis.models import RollupDay
    from loyalty.pricing import LineIn, quote_basket
    from omni.api.keys import create_client
    from omni.catalog.models import Channel, Location, LocationKind, Variant
    from omni.models import ALL_SCOPES, ApiClient

    web_variant = Variant.objects.filter(product__channels__code="web").order_by("pk").first()
    store = Location.objects.filter(kind=LocationKind.STORE, is_active=True).order_by("pk").first()
    till = Channel.objects.filter(code="store").first()
    # A variant per client, so the clients' orders do not all queue on one stock row.
    for_sale = list(Variant.objects.filter(product__channels__code="store", is_active=True).order_by("pk")[:clients])
    if web_variant is None or store is None or till is None or len(for_sale) < clients:
        raise RuntimeError("the demo data lacks a web variant, a store, the till channel or variants to sell")
    network_of(web_variant, 20 if smoke else LOCATIONS[0])  # the smaller of the two sizes
    prices = {}
    for variant in for_sale:
        inventory.count(location=store, variant=variant, on_hand=1_000_000, reason="system load test")
        prices[variant.sku] = str(quote_basket(channel=till, lines=[LineIn(variant.sku, 1)]).total)

    today = timezone.localdate()
    if not RollupDay.objects.filter(day__gte=today - timedelta(days=35)).exists():
        # The dashboards and the KPI endpoint read the rollups: give them the last weeks to read.
        days = 7 if smoke else 35
        call_command("seed_events", days=days, verbosity=0)
        start = (today - timedelta(days=days)).isoformat()
        call_command("rebuild_kpis", start=start, end=(today - timedelta(days=1)).isoformat(), verbosity=0)

    call_command("setup_roles", verbosity=0)
    user = User.objects.filter(username=STAFF_USER).first() or User(username=STAFF_USER, is_staff=True)
    user.set_password(STAFF_PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="Head office"))

    ApiClient.objects.filter(name=CLIENT_NAME).delete()
    _, key = create_client(name=CLIENT_NAME, scopes=ALL_SCOPES)
    last_month = (today - timedelta(days=30)).isoformat(), (today - timedelta(days=1)).isoformat()
    return {
        "key": key,
        "store": store.code,
        "skus": [v.sku for v in for_sale],
        "prices": prices,
        "availability_path": f"/api/v1/availability/?sku={web_variant.sku}&channel=web&near=45.46,9.19",
        "kpis_path": f"/api/v1/kpis/?from={last_month[0]}&to={last_month[1]}&granularity=day",
        "dashboards": ["/dashboards/", "/dashboards/channels/"],
    }


def collectstatic(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise RuntimeError(f"collectstatic failed: {done.stderr[-2000:]}")


def run(*, repeat: int, smoke: bool) -> list[Result]:
    from django.db import connection

    from omni.models import ApiClient
    from omni.replicas import replica_aliases

    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql" or not broker_url.startswith("redis://"):
        return []  # several processes share one PostgreSQL and one Redis: nothing to measure without them
    import redis

    seconds = 3.0 if smoke else float(os.environ.get("BENCH_SYSTEM_SECONDS", "60"))
    clients = 2 if smoke else int(os.environ.get("BENCH_SYSTEM_CLIENTS", "4"))
    workers = 2 if smoke else int(os.environ.get("BENCH_SYSTEM_WORKERS", "3"))
    aliases = replica_aliases()
    replica = aliases[0] if aliases else None
    label = (
        f"{clients} clients, gunicorn {workers} workers, 2 Celery workers, "
        f"{'primary + replica' if replica else 'primary alone'}"
    )
    data = prepare(clients=clients, smoke=smoke)
    run_id = uuid.uuid4().hex[:8]
    broker = redis.Redis.from_url(broker_url)

    def plan_of(port: int, cookies: dict[str, str], seconds: float) -> Plan:
        return Plan(port=port, cookies=cookies, run_id=run_id, seconds=seconds, start_at=time.time() + 1.0, **data)

    with tempfile.TemporaryDirectory(prefix="omni-bench-static-") as static_root:
        env = production_env(Path(static_root))
        collectstatic(env)
        processes = [start_worker(name, queues, env) for name, queues in WORKERS]
        try:
            wait_for_workers([name for name, _ in WORKERS])
            phases = []
            runs = [(label, workers, env), ("one gunicorn worker", 1, env)]
            if replica:
                without = {k: v for k, v in env.items() if k != "DATABASE_REPLICA_URLS"}
                runs.append(("replica off", workers, without))
            for phase_label, phase_workers, phase_env in runs:
                # Each phase gets its own order numbers, so the count in the database is that phase's.
                run_id = uuid.uuid4().hex[:8]
                phase = run_phase(phase_label, phase_workers, clients, seconds, plan_of, phase_env, broker, replica)
                print(describe(phase), flush=True)
                phases.append(phase)
        finally:
            for process in processes:
                stop(process)
            ApiClient.objects.filter(name=CLIENT_NAME).delete()
    for phase in phases:
        if phase.orders_in_db != phase.tally.orders_created:
            raise RuntimeError(
                f"{phase.label}: {phase.tally.orders_created} orders answered 201, {phase.orders_in_db} recorded"
            )
    results = results_of(phases[0], phases[1], label)
    if len(phases) > 2:
        results += replica_results(phases[0], phases[2], label)
    return results
