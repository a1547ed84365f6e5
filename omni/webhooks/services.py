"""Webhooks: subscribe, publish inside the caller's transaction, send after the commit, retry, redeliver.

`publish(type, data)` is what every app calls, inside its own transaction. It
writes the event and one dispatch per subscription that wants it, and asks
the outbox to send them after the commit; a rolled-back change publishes
nothing. Sending happens in a Celery task, outside any transaction: one
signed POST per attempt, each attempt logged as a `Delivery`. A failed
attempt is retried with growing delays (RETRY_DELAYS, a little over a day in
all) by the `webhooks.send_due` task that beat runs every minute.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from standardwebhooks import Webhook

from omni import outbox, versions
from omni.errors import Invalid, NotFound
from omni.models import ApiClient
from omni.webhooks.models import EVERY_EVENT, Delivery, Dispatch, Event, EventType, Subscription

logger = logging.getLogger(__name__)

# Standard Webhooks' suggested schedule: the first attempt at once, then these
# delays after each failure; 27.5 hours in all, then the dispatch is given up.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
TIMEOUT_SECONDS = 10  # the contract: a 2xx within 10 seconds is delivered
CLAIM_LEASE = timedelta(seconds=60)  # longer than an attempt can take
FAILING_AFTER = timedelta(days=1)
SEND_TASK = "webhooks.send_dispatches"
MAX_ERROR_LENGTH = 2000
MAX_BODY_BYTES_READ = 4096
# Which event types anyone listens to, cached so that a sale with no subscriber pays no query for it.
# Every save and delete of a subscription, through the API or the admin, clears it (WebhooksConfig.ready);
# with a cache shared by every process (CACHE_URL) at once, with the per-process default within this many
# seconds.
LISTENED_TYPES_KEY = "webhooks:listened-types"
LISTENED_TYPES_SECONDS = 30
DISPATCHES_PER_MESSAGE = 200  # one outbox message (one Celery task) sends at most this many
EVENT_TYPES = frozenset(EventType.values)  # read once: an enum's values are rebuilt on every access


# --- subscriptions ----------------------------------------------------------------


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, as Standard Webhooks secrets are written."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_events(events: list[str]) -> list[str]:
    known = EVENT_TYPES | {EVERY_EVENT}
    unknown = [name for name in events if name not in known]
    if not events or unknown:
        message = gettext("Unknown event type: %(names)s.") % {"names": ", ".join(unknown)} if unknown else None
        raise Invalid(
            message or gettext('Name at least one event type, or "*".'),
            {"events": [message or gettext('Name at least one event type, or "*".')]},
        )
    return sorted(set(events))


def allows_private_addresses() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", settings.DEBUG))


def check_url(url: str) -> str:
    """The URL, if Omni may post to it: https to public addresses only, unless the setting allows more.

    Raises Invalid (400 `invalid`) otherwise. The host is resolved and every
    address it resolves to must be public, so a name pointing inside the
    network is refused like the address itself. Checked when a subscription
    is saved and again before every attempt (a name can change its address).
    """

    def refuse(reason: str) -> Invalid:
        return Invalid(gettext("This URL cannot receive webhooks: %(reason)s") % {"reason": reason}, {"url": [reason]})

    parts = urlsplit(url)
    allow_private = allows_private_addresses()
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise refuse(gettext("the address must start with https://."))
    if not parts.hostname:
        raise refuse(gettext("the address names no host."))
    if parts.username or parts.password:
        raise refuse(gettext("the address must not carry a user name or password."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError, UnicodeError):
        raise refuse(gettext("the host does not resolve.")) from None
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                raise refuse(gettext("the host resolves to a private or reserved address."))
    return url


def listened_types() -> frozenset[str]:
    """The event types some active subscription wants ("*" among them when one wants every event); read once
    for a whole request (an order asks for each event it may publish)."""
    return versions.once_in_block(LISTENED_TYPES_KEY, _listened_types_now)


def _listened_types_now() -> frozenset[str]:
    types = cache.get(LISTENED_TYPES_KEY)
    if types is None:
        types = sorted(
            {
                name
                for events in Subscription.objects.filter(is_active=True).values_list("events", flat=True)
                for name in events
            }
        )
        cache.set(LISTENED_TYPES_KEY, types, LISTENED_TYPES_SECONDS)
    return frozenset(types)


def listens(event_type: str) -> bool:
    """Whether publishing `event_type` would reach anyone: callers skip the work of building the data if not."""
    types = listened_types()
    return EVERY_EVENT in types or event_type in types


def subscriptions_changed(**_signal: Any) -> None:
    """A subscription was saved or deleted (the model's signals, so the admin's forms count too): the cached
    event types go, now and once the change commits."""
    _forget_listened_types()
    transaction.on_commit(_forget_listened_types)


def _forget_listened_types() -> None:
    versions.forget_in_block(LISTENED_TYPES_KEY)
    cache.delete(LISTENED_TYPES_KEY)


@transaction.atomic
def subscribe(*, url: str, events: list[str], description: str = "", owner: ApiClient | None = None) -> Subscription:
    """A new subscription with a fresh secret (the caller shows it once). Raises Invalid."""
    subscription = Subscription.objects.create(
        owner=owner, url=check_url(url), events=check_events(events), description=description, secret=new_secret()
    )
    return subscription


@transaction.atomic
def update_subscription(*, subscription: Subscription, changes: dict[str, Any]) -> Subscription:
    """Change url, events, description or is_active. Turning it back on clears the failing mark."""
    if "url" in changes:
        subscription.url = check_url(changes["url"])
    if "events" in changes:
        subscription.events = check_events(changes["events"])
    if "description" in changes:
        subscription.description = changes["description"]
    if "is_active" in changes:
        subscription.is_active = changes["is_active"]
        if subscription.is_active:
            subscription.is_failing, subscription.failing_since = False, None
    subscription.save()
    return subscription


@transaction.atomic
def delete_subscription(*, subscription: Subscription) -> None:
    """Delete it with its dispatches and log. Waits (row lock) for sales still publishing to it."""
    locked = Subscription.objects.select_for_update().filter(pk=subscription.pk).first()
    if locked is not None:
        locked.delete()


# --- publishing -------------------------------------------------------------------


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


Data = dict[str, Any] | Callable[[], dict[str, Any]]


def _listeners_of(event_type: str) -> list[int]:
    """The active subscriptions that want `event_type`, held (on PostgreSQL) until the caller's commit.

    FOR KEY SHARE keeps a subscription from being deleted under a sale that is
    about to point a dispatch at it (the sale would fail at its commit), and
    does not make concurrent publishers wait for each other.
    """
    table = connection.ops.quote_name(Subscription._meta.db_table)
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, events FROM {table} WHERE is_active ORDER BY id{lock}")
        rows = cursor.fetchall()
    wanted = []
    for pk, events in rows:
        names = json.loads(events) if isinstance(events, str | bytes) else events
        if EVERY_EVENT in names or event_type in names:
            wanted.append(pk)
    return wanted


def publish(event_type: str, data: Data, *, now: datetime | None = None) -> Event | None:
    """Record `event_type` with `data` for every subscription that wants it, to send after the commit.

    Call it inside the transaction of the change it reports: the event, its
    dispatches and the outbox row commit or roll back with the change.
    `data` may be a function, called only when someone listens. With no
    subscriber for the type it writes and reads nothing (the cached
    `listened_types`). Returns the event, or None.
    """
    events = publish_many(event_type, (lambda: [data() if callable(data) else data]), now=now)
    return events[0] if events else None


def publish_many(
    event_type: str, items: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]], *, now: datetime | None = None
) -> list[Event]:
    """`publish` for a batch (a file of till receipts): the events, their dispatches and the outbox rows in bulk."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if not listens(event_type):
        return []
    listeners = _listeners_of(event_type)
    if not listeners:
        return []
    payloads = items() if callable(items) else items
    if not payloads:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        events = Event.objects.bulk_create(
            [Event(id=new_event_id(), type=event_type, data=payload, created_at=now) for payload in payloads]
        )
        dispatches = Dispatch.objects.bulk_create(
            [Dispatch(subscription_id=pk, event=event, next_attempt_at=now) for event in events for pk in listeners]
        )
        ids = [dispatch.pk for dispatch in dispatches]
        for first in range(0, len(ids), DISPATCHES_PER_MESSAGE):
            outbox.enqueue(SEND_TASK, dispatch_ids=ids[first : first + DISPATCHES_PER_MESSAGE])
    return events


@transaction.atomic
def redeliver(*, delivery: Delivery) -> Dispatch:
    """Send a delivery's event again to its subscription, with the same event id (so the same `webhook-id`)."""
    dispatch = Dispatch.objects.create(
        subscription_id=delivery.subscription_id, event_id=delivery.event_id, next_attempt_at=timezone.now()
    )
    outbox.enqueue(SEND_TASK, dispatch_ids=[dispatch.pk])
    return dispatch


def delivery_of(subscription: Subscription, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.filter(subscription=subscription, pk=delivery_id).first()
    if delivery is None:
        raise NotFound(gettext("No delivery %(id)s for this subscription.") % {"id": delivery_id})
    return delivery


# --- sending ----------------------------------------------------------------------


def body_of(event: Event) -> str:
    """The delivered JSON: `{"type", "timestamp", "data"}`, the same bytes on every attempt."""
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data},
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def signed_headers(*, secret: str, event_id: str, body: str, sent_at: float) -> dict[str, str]:
    """The Standard Webhooks headers, signed by the `standardwebhooks` library."""
    timestamp = datetime.fromtimestamp(int(sent_at), tz=UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at)),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=timestamp, data=body),
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other (not 2xx): following it could lead to a private address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST once; (status code, error). The status is None when no answer came."""
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Omni-Webhooks/1", **headers},
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(MAX_BODY_BYTES_READ)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:  # refused, timed out, TLS, DNS
        return None, f"{type(exc).__name__}: {exc}"


def _claim(dispatch_id: int, now: datetime) -> bool:
    """Take a due dispatch for one attempt (one conditional UPDATE; a second sender gets 0 rows)."""
    return bool(
        Dispatch.objects.filter(pk=dispatch_id, next_attempt_at__lte=now).update(next_attempt_at=now + CLAIM_LEASE)
    )


def attempt(dispatch_id: int, *, now: datetime | None = None) -> Delivery | None:
    """One attempt at a due dispatch: post, log the delivery, then schedule a retry or close it.

    Runs outside any transaction (a POST can take seconds). Returns the
    delivery logged, or None when the dispatch was not due or was taken.
    """
    now = now or timezone.now()
    if not _claim(dispatch_id, now):
        return None
    dispatch = Dispatch.objects.select_related("subscription", "event").get(pk=dispatch_id)
    subscription, event = dispatch.subscription, dispatch.event
    body = body_of(event)
    started = time.monotonic()
    try:
        check_url(subscription.url)
    except Invalid as refused:
        status_code, error = None, refused.detail
    else:
        headers = signed_headers(secret=subscription.secret, event_id=event.id, body=body, sent_at=time.time())
        status_code, error = post(subscription.url, body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not succeeded and not error:
        error = f"HTTP {status_code}"
    with transaction.atomic():
        delivery = Delivery.objects.create(
            dispatch=dispatch,
            subscription=subscription,
            event=event,
            status_code=status_code,
            duration_ms=duration_ms,
            error=error[:MAX_ERROR_LENGTH],
            at=now,
        )
        attempts = dispatch.attempts + 1
        if succeeded:
            Dispatch.objects.filter(pk=dispatch.pk).update(attempts=attempts, delivered_at=now, next_attempt_at=None)
            Subscription.objects.filter(pk=subscription.pk).exclude(failing_since=None, is_failing=False).update(
                failing_since=None, is_failing=False
            )
        elif attempts <= len(RETRY_DELAYS):
            Dispatch.objects.filter(pk=dispatch.pk).update(
                attempts=attempts, next_attempt_at=now + RETRY_DELAYS[attempts - 1]
            )
        else:
            Dispatch.objects.filter(pk=dispatch.pk).update(attempts=attempts, next_attempt_at=None, given_up_at=now)
    if not succeeded:
        note_failure(subscription.pk, now)
    return delivery


def note_failure(subscription_id: int, now: datetime) -> bool:
    """Start the failing clock; after FAILING_AFTER of failures mark the subscription failing and e-mail admins once.

    Returns True when this call marked it failing.
    """
    Subscription.objects.filter(pk=subscription_id, failing_since=None).update(failing_since=now)
    marked = Subscription.objects.filter(
        pk=subscription_id, is_failing=False, failing_since__lte=now - FAILING_AFTER
    ).update(is_failing=True)
    if marked:
        subscription = Subscription.objects.get(pk=subscription_id)
        logger.warning("webhook subscription %s failing since %s", subscription_id, subscription.failing_since)
        mail_admins(
            gettext("Webhook subscription failing: %(url)s") % {"url": subscription.url},
            gettext(
                "Deliveries to %(url)s (subscription %(id)s) have failed since %(since)s. "
                "Its events are kept; check the delivery log in the admin, then redeliver."
            )
            % {"url": subscription.url, "id": subscription.pk, "since": str(subscription.failing_since)},
            fail_silently=True,
        )
    return bool(marked)


def send_dispatches(dispatch_ids: list[int], *, now: datetime | None = None) -> int:
    """Attempt each given dispatch that is due. Returns how many were delivered."""
    delivered = 0
    for dispatch_id in dispatch_ids:
        delivery = attempt(dispatch_id, now=now)
        delivered += bool(delivery and delivery.succeeded)
    return delivered


def send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Attempt every dispatch whose next attempt is due (retries, and anything a lost message left behind)."""
    now = now or timezone.now()
    due = list(
        Dispatch.objects.filter(next_attempt_at__lte=now)
        .filter(Q(subscription__is_active=True))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return send_dispatches(due, now=now)
