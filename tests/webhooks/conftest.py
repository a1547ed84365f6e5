"""A real HTTP server on 127.0.0.1 that receives webhooks and checks them with the standardwebhooks verifier."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery import current_app
from standardwebhooks import Webhook, WebhookVerificationError

from omni.webhooks import services
from omni.webhooks.models import Subscription


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict | None  # what the verifier returned; None when the signature did not verify


@dataclass
class Receiver:
    """The site's end: answers `statuses` in turn (then 200) and keeps what it received."""

    url: str = ""
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    @property
    def verified(self) -> list[dict]:
        return [r.payload for r in self.received if r.payload is not None]

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    def of_type(self, event_type: str) -> list[dict]:
        return [payload for payload in self.verified if payload["type"] == event_type]


@pytest.fixture
def eager():
    """Tasks run in the process, as in the embedded default."""
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = was


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the test server listens on 127.0.0.1 over plain http
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                payload = Webhook(state.secret).verify(body, headers)
            except WebhookVerificationError:
                payload = None
            state.received.append(Received(headers=headers, body=body, payload=payload))
            status = 400 if payload is None else (state.statuses.pop(0) if state.statuses else 200)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status < 300}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/omni"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def subscribed(receiver, transactional_db):
    """The receiver subscribed to every event; its secret known to the server."""

    def subscribe(events: list[str] | None = None) -> Subscription:
        subscription = services.subscribe(url=receiver.url, events=events or ["*"], description="test site")
        receiver.secret = subscription.secret
        return subscription

    return subscribe
