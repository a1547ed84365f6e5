"""Messages to customers (receipts, "ready for pick-up"): who gets what, on which channel, sent after the commit.

The app that owns the news (orders, returns) renders the text and calls
`tell(...)` inside its own transaction. Here, in one place, the rules of
who is written to:

- a receipt (of an order or a return) goes by e-mail to a customer with an
  e-mail address who granted the e-mail consent (`marketing_email`, the
  consent the customer gives for e-mail from the retailer);
- "ready for pick-up" is the service the customer asked for by choosing to
  collect: it goes by e-mail and, with a phone number, by SMS;
- an erased customer gets nothing.

Each message is a `Message` row written in the caller's transaction, and
its sending is an outbox message (`customers.send_message`), so nothing is
sent for a transaction that rolled back and nothing is lost if the broker
is down. A failed send is recorded on the row and retried (by Celery, or by
the outbox relay when tasks run eagerly) up to MESSAGE_MAX_ATTEMPTS times;
it never touches the order or the return it tells about.

This is a module of its own beside `customers.services`: sending is a
separate concern from who the customer is, with its own backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from customers import selectors, sms
from customers.models import (
    ConsentPurpose,
    Customer,
    Identifier,
    IdentifierKind,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from omni import outbox

CONSENT_NEEDED: dict[tuple[str, str], str] = {
    (MessageKind.ORDER_RECEIPT, MessageChannel.EMAIL): ConsentPurpose.MARKETING_EMAIL,
    (MessageKind.RETURN_RECEIPT, MessageChannel.EMAIL): ConsentPurpose.MARKETING_EMAIL,
}


def consent_needed(kind: str) -> str:
    """The consent the e-mail of a message of `kind` needs ("" when none): what a caller that locks the customer
    anyway (a sale, for its receipt) asks identify to read along."""
    return CONSENT_NEEDED.get((kind, MessageChannel.EMAIL), "")


def max_attempts() -> int:
    return int(getattr(settings, "MESSAGE_MAX_ATTEMPTS", 5))


def retry_delay(retries: int) -> float:
    """Seconds before the next try: MESSAGE_RETRY_SECONDS, doubled after each failure."""
    return float(getattr(settings, "MESSAGE_RETRY_SECONDS", 60)) * (2**retries)


SMS_KINDS = frozenset({MessageKind.READY_FOR_PICKUP})

Render = Callable[[str], tuple[str, str]]  # render(channel) -> (subject, text)


def tell(
    *,
    customer: Customer | None,
    kind: str,
    render: Render,
    order_id: int | None = None,
    reference: str = "",
    new_customer: bool = False,
    consents: Mapping[str, bool | None] | None = None,
) -> list[Message]:
    """Write the messages `customer` is to receive about this and send them after the commit.

    E-mail when the customer has an address (and the consent its kind
    needs); SMS, for the kinds that go by SMS, when they have a phone
    number. `render(channel)` gives the subject and the text; it is called
    only for a message that will be written. The addresses come first (the
    profile's, read from the identifiers only where it has none), and a
    consent is read only for a channel with an address: a sale costs at most
    the one read of its consent here, none for a customer without an e-mail
    address. Returns the messages written.

    `new_customer`: the caller's transaction created the customer (identify
    said so). Nobody else can write a consent for a row not yet committed,
    and identify writes none, so they have none: nothing is read. For any
    other customer the read stays, after the caller locked the customer's
    row (identify, lock_survivor): consents change under that same lock, so
    what is read then holds until the commit.

    `consents`: choices the caller already read under that lock (purpose ->
    latest choice, None: never asked), which are not read again. A sale's
    identify reads the one `consent_needed` names in its locking statement,
    at no trip of its own, whether or not the customer has an address; it is
    used here, for a channel with an address, as a read here would be. That
    read is made once the lock is held (`customers.selectors.latest_consent_sql`):
    read beside the locking, from the snapshot the statement took before it
    waited, it would miss a withdrawal committed meanwhile.
    """
    if customer is None or customer.erased_at is not None:
        return []
    channels = [MessageChannel.EMAIL, *([MessageChannel.SMS] if kind in SMS_KINDS else [])]
    addresses = contact_of(customer, channels=channels)
    channels = [channel for channel in channels if addresses.get(channel)]  # no address: no consent to ask
    purposes = {purpose for channel in channels if (purpose := CONSENT_NEEDED.get((kind, channel)))}
    known = consents or {}
    granted = {
        purpose
        for purpose in purposes
        if not new_customer
        and (known[purpose] if purpose in known else selectors.consent_granted(customer.pk, purpose))
    }
    written = []
    for channel in channels:
        if CONSENT_NEEDED.get((kind, channel)) not in (None, *granted):
            continue
        to = addresses[channel]
        subject, text = render(channel)
        message = Message.objects.create(
            customer=customer,
            order_id=order_id,
            reference=reference,
            kind=kind,
            channel=channel,
            to=to,
            subject=subject[:200],
            body=text,
        )
        outbox.enqueue("customers.send_message", message_id=message.pk)
        written.append(message)
    return written


def contact_of(customer: Customer, *, channels: Iterable[str] = tuple(MessageChannel)) -> dict[str, str]:
    """Where to write on `channels`: the profile's e-mail and phone, or else the latest e-mail and phone identifiers.

    The identifiers are read only when the profile lacks the address of a channel asked for."""
    profile: dict[str, str] = {MessageChannel.EMAIL: customer.email, MessageChannel.SMS: customer.phone}
    found: dict[str, str] = {channel: profile[channel] for channel in channels}
    if not all(found.values()):
        kinds = {MessageChannel.EMAIL: IdentifierKind.EMAIL, MessageChannel.SMS: IdentifierKind.PHONE}
        kinds = {channel: kind for channel, kind in kinds.items() if channel in found}
        rows = Identifier.objects.filter(customer=customer, kind__in=kinds.values()).order_by("-created_at", "-pk")
        latest: dict[str, str] = {}
        for kind, value in rows.values_list("kind", "value"):
            latest.setdefault(kind, value)
        for channel, kind in kinds.items():
            found[channel] = found[channel] or latest.get(kind, "")
    return found


def deliver(message_id: int) -> str:
    """Send one message through Django's mail backend or the SMS backend; record the outcome on its row.

    Returns "sent", "failed" (the last attempt failed: given up) or "nothing
    to do" (sent already: a message may arrive twice). Raises the backend's
    error when another attempt remains, for the caller to retry.
    """
    message = (
        Message.objects.filter(pk=message_id).exclude(status__in=[MessageStatus.SENT, MessageStatus.FAILED]).first()
    )
    if message is None:
        return "nothing to do"
    try:
        if message.channel == MessageChannel.EMAIL:
            EmailMessage(message.subject, message.body, to=[message.to]).send()
        else:
            sms.send_sms(message.to, message.body)
    except Exception as exc:
        last = message.attempts + 1 >= max_attempts()
        Message.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1,
            last_error=str(exc)[:2000] or type(exc).__name__,
            status=MessageStatus.FAILED if last else MessageStatus.RETRYING,
        )
        if last:
            return "failed"
        raise
    Message.objects.filter(pk=message.pk).update(
        attempts=F("attempts") + 1, status=MessageStatus.SENT, sent_at=timezone.now()
    )
    return "sent"
