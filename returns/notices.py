"""What returns tell the customer: the receipt of a return, with the store-credit note when credit was issued.

Rendered here; sent (or not, by consent) by `customers.messaging.tell`, after the commit.
"""

from __future__ import annotations

from typing import Any

from customers import messaging
from customers.models import Message, MessageKind
from loyalty.models import StoreCreditEntry
from omni.orders.notices import renderer
from returns.models import Return


def store_credit_note(ret: Return) -> StoreCreditEntry | None:
    """The store credit issued for this return (refund or exchange), if any."""
    return (
        StoreCreditEntry.objects.filter(reference=ret.rma, amount__gt=0).select_related("balance__customer").first()
        if ret.rma
        else None
    )


def receipt_context(ret: Return) -> dict[str, Any]:
    return {
        "ret": ret,
        "order": ret.order,
        "lines": list(ret.lines.select_related("variant", "variant__product", "reason").order_by("pk")),
        "refunds": list(ret.refunds.order_by("pk")),
        "credit": store_credit_note(ret),
        "store": ret.location,
    }


def send_receipt(ret: Return) -> list[Message]:
    """E-mail the receipt of a received return to its customer, if they consented (inside the return's transaction)."""
    return messaging.tell(
        customer=ret.customer,
        kind=MessageKind.RETURN_RECEIPT,
        render=lambda channel: renderer("return_receipt", receipt_context(ret))(channel),
        order_id=ret.order_id,
        reference=ret.rma,
    )
