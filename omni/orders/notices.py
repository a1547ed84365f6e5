"""What orders tell the customer: the receipt of a sale and "your order is ready for pick-up".

The texts are rendered here, in the retailer's language (LANGUAGE_CODE);
who receives them, on which channel and after which consent is decided by
`customers.messaging.tell`, which writes the messages in the caller's
transaction and sends them after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from customers import messaging
from customers.models import Message, MessageKind
from loyalty import gift_cards
from omni.orders.models import Order


def renderer(name: str, context: dict[str, Any]) -> Callable[[str], tuple[str, str]]:
    """render(channel) for `templates/messages/<name>.<channel>.txt`: an e-mail's first line is its subject."""

    def render(channel: str) -> tuple[str, str]:
        with translation.override(settings.LANGUAGE_CODE):
            text = render_to_string(f"messages/{name}.{channel}.txt", context).strip()
        if channel != "email":
            return "", text
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip() + "\n"

    return render


def receipt_context(order: Order) -> dict[str, Any]:
    """What a receipt shows: the order, its lines and payments, where it was sold, the gift cards it sold."""
    return {
        "order": order,
        "lines": list(order.lines.select_related("variant", "variant__product").order_by("pk")),
        "payments": list(order.payments.order_by("pk")),
        "store": order.location,
        # The codes of the gift cards sold, printed for the buyer, who spends them by code on any channel.
        "gift_cards": [
            {"code": gift_cards.printed(card.code), "amount": card.initial_amount}
            for card in order.gift_cards_sold.order_by("pk")
        ],
    }


# The consent a receipt's e-mail needs: identify reads it with the buyer's lock (record_order asks it to).
RECEIPT_CONSENT = messaging.consent_needed(MessageKind.ORDER_RECEIPT)


def send_receipt(
    order: Order, *, new_customer: bool = False, consents: Mapping[str, bool | None] | None = None
) -> list[Message]:
    """E-mail the receipt of a new order to its customer, if they consented (call inside the order's transaction).

    `new_customer`: the order's transaction created the customer; `consents`: the choices identify read under the
    customer's lock (see `messaging.tell`)."""
    return messaging.tell(
        customer=order.customer,
        kind=MessageKind.ORDER_RECEIPT,
        render=lambda channel: renderer("order_receipt", receipt_context(order))(channel),
        order_id=order.pk,
        new_customer=new_customer,
        consents=consents,
    )


def tell_ready_for_pickup(order: Order) -> list[Message]:
    """Tell the customer their order waits for them at its pick-up store, by e-mail and SMS."""
    context = {"order": order, "store": order.pickup_location or order.location}
    return messaging.tell(
        customer=order.customer,
        kind=MessageKind.READY_FOR_PICKUP,
        render=renderer("ready_for_pickup", context),
        order_id=order.pk,
    )
