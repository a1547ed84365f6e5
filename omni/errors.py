"""Domain errors: raised by services, turned into the contract's error body.

Each carries the contract ``code`` and the HTTP status the API answers with;
the API's exception handler and the admin both read them, so no view builds
an error body by hand. The default details are translatable: the API answers
them in the request's language (``omni.api.language``).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_detail: str | Promise = _("The request cannot be carried out.")  # a plain string is fine too

    def __init__(self, detail: str | Promise | None = None, **extra: Any) -> None:
        # Settled now, in the language of the request being served.
        self.detail: str = str(detail or self.default_detail)
        self.extra = extra
        super().__init__(self.detail)


class Invalid(DomainError):
    code = "invalid"
    status = 400
    default_detail = _("The request is not valid.")

    def __init__(self, detail: str | Promise | None = None, errors: dict[str, list[str]] | None = None, **extra: Any):
        super().__init__(detail, **extra)
        self.errors = errors or {}


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = _("Not found.")


class PermissionDenied(DomainError):
    """The user may not do this here: a location outside theirs, or a right their role lacks."""

    code = "permission_denied"
    status = 403
    default_detail = _("You are not allowed to do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Busy(Conflict):
    """The request met other writes on the same rows and lost more than once: try again in a moment.

    Raised by ``omni.concurrency.retry_on_conflict`` after its retries; the
    API answers 409 ``busy`` with ``Retry-After``. Nothing was written.
    """

    code = "busy"
    default_detail = _("Other requests are changing the same records right now; nothing was written. Try again.")
    retry_after = 1


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_detail = _("Not enough stock to serve the request.")


class CountBelowReserved(Conflict):
    code = "count_below_reserved"
    default_detail = _("Fewer units were counted than are promised to customers; count again or release holds first.")


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_detail = _("The loyalty balance is lower than the points asked for.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = _("This change is not allowed in the current state.")


class QuantityExceedsPurchased(Conflict):
    code = "quantity_exceeds_purchased"
    default_detail = _("More units would be returned than were bought.")


class ReturnWindowExpired(Conflict):
    code = "return_window_expired"
    default_detail = _("The return window of this order has passed.")


class NotSoldOnChannel(Conflict):
    code = "not_sold_on_channel"
    default_detail = _("This product is not sold on this channel.")


class DuplicateOrder(Conflict):
    code = "duplicate_order"
    default_detail = _("An order with this external id was already recorded on this channel.")


class CustomerErased(Conflict):
    code = "customer_erased"
    default_detail = _("This customer's personal data was erased; nothing more can be recorded about them.")


class MergeNotAllowed(Conflict):
    code = "merge_not_allowed"
    default_detail = _("These customers cannot be merged.")


class InsufficientStoreCredit(Conflict):
    code = "insufficient_store_credit"
    default_detail = _("The customer's store credit is lower than the amount asked for.")


class InsufficientGiftCardBalance(Conflict):
    code = "insufficient_gift_card_balance"
    default_detail = _("The gift card's balance is lower than the amount asked for.")
