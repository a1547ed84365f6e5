"""Enrolment at the counter: a new customer, their loyalty card and their consents, in one transaction.

The customer is created by `customers.services.identify`, the account and
card by this app's services, the consents by `customers.services.set_consents`
with the wording the customer was shown and the channel they were given on.
A bad input, a card or an e-mail already in use: nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from customers import services as customers
from customers.models import ConsentPurpose, Customer, Identifier, IdentifierKind
from customers.normalise import normalise_email, normalise_phone, normalise_token
from loyalty import services
from loyalty.models import Card, LoyaltyAccount
from omni.actor import SYSTEM, Actor
from omni.errors import Conflict, Invalid

# What a member of staff needs to enrol a customer at the counter.
ENROL_PERMISSIONS = ["customers.add_customer", "loyalty.add_loyaltyaccount", "loyalty.add_card"]


class AlreadyCustomer(Conflict):
    """An identifier given at enrolment already names a customer: open them instead of enrolling twice."""

    code = "already_customer"
    default_detail = "This card, e-mail or phone already belongs to a customer."

    def __init__(self, customer_id: int, field: str) -> None:
        super().__init__(customer_id=customer_id, field=field)
        self.customer_id = customer_id
        self.field = field


@dataclass(frozen=True)
class Enrolment:
    customer: Customer
    account: LoyaltyAccount
    card: Card


def enrol(
    *,
    first_name: str,
    last_name: str,
    card: str,
    email: str = "",
    phone: str = "",
    consents: Mapping[str, bool],
    wording: Mapping[str, str],
    channel: str,
    source: str = "",
    actor: Actor = SYSTEM,
) -> Enrolment:
    """Create the customer with their card and consents, all or nothing.

    Every consent purpose is recorded, given or declined, with its wording.
    Raises Invalid (a missing name or card, an e-mail or phone that does not
    parse, a consent purpose missing) and AlreadyCustomer. Locks nothing
    before `identify`, which takes the new customer's identifiers under the
    unique (kind, value) constraint.
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    errors: dict[str, list[str]] = {}
    if not first_name:
        errors["first_name"] = ["This field may not be blank."]
    if not last_name:
        errors["last_name"] = ["This field may not be blank."]
    missing = [purpose for purpose in ConsentPurpose.values if purpose not in consents]
    for purpose in missing:
        errors[purpose] = ["Give or decline every consent."]
    if errors:
        raise Invalid(errors=errors)
    identifiers = {IdentifierKind.CARD: normalise_token(card, field="card")}
    if email.strip():
        identifiers[IdentifierKind.EMAIL] = normalise_email(email, field="email")
    if phone.strip():
        identifiers[IdentifierKind.PHONE] = normalise_phone(phone, field="phone")
    _refuse_known(identifiers)
    with transaction.atomic():
        found = customers.identify(
            identifiers=[{"kind": kind, "value": value} for kind, value in identifiers.items()],
            profile={
                "first_name": first_name,
                "last_name": last_name,
                "email": identifiers.get(IdentifierKind.EMAIL, ""),
                "phone": identifiers.get(IdentifierKind.PHONE, ""),
            },
            actor=actor,
            may_merge=False,
        )
        if not found.created:  # another counter enrolled them a moment ago
            raise AlreadyCustomer(found.customer.pk, "card")
        account = services.open_account(customer=found.customer)
        issued = services.add_card(account=account, number=identifiers[IdentifierKind.CARD])
        customers.set_consents(
            customer=found.customer,
            choices={purpose: bool(consents[purpose]) for purpose in ConsentPurpose.values},
            channel=channel,
            source=source,
            wording=wording,
            actor=actor,
        )
    return Enrolment(customer=found.customer, account=account, card=issued)


def _refuse_known(identifiers: Mapping[str, str]) -> None:
    """Raise AlreadyCustomer when the card, e-mail or phone is someone's already (the card naming its account)."""
    taken = Card.objects.filter(number=identifiers[IdentifierKind.CARD]).values_list("account__customer_id", flat=True)
    for customer_id in taken:
        raise AlreadyCustomer(customer_id, "card")
    for kind, value in identifiers.items():
        owner = Identifier.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        if owner is not None:
            raise AlreadyCustomer(owner, str(kind))
